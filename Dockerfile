# syntax=docker/dockerfile:1
# The API: `docker run … ipledge` serves; the worker is the same image with `ipledge worker`.
# Migrations are a separate step: `docker run … ipledge migrate` before rolling out.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt . \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /opt/venv/lib/python3.11/site-packages/scipy/*/tests

FROM python:3.11-slim
RUN groupadd --system --gid 10001 ipledge \
 && useradd --system --uid 10001 --gid ipledge --home-dir /app --no-create-home ipledge
COPY --from=build /opt/venv /opt/venv
COPY migrations /app/migrations
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IPLEDGE_MIGRATIONS_DIR=/app/migrations
USER ipledge:ipledge
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status == 200 else 1)"
CMD ["ipledge", "serve", "--host", "0.0.0.0", "--port", "8000"]
