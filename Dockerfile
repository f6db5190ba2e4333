# syntax=docker/dockerfile:1
# One image for every role: `ipledge serve` (the default command), `ipledge worker`, and the
# one-shot `ipledge migrate` that runs before each roll-out (docs/operations.md; compose.yaml
# wires all three). Only what the service runs is installed: no test or embedded-database
# packages, no tests.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from the pinned lists alone: this layer is rebuilt only when they
# change, not at every change of the code.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} + \
 && rm -rf /opt/venv/lib/python3.11/site-packages/scipy/*/tests
# Then the code, without resolving anything again.
COPY README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --no-deps . \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

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
EXPOSE 8000 9100
# The API's /readyz by default; a worker's container sets IPLEDGE_HEALTHCHECK_URL to its own
# /healthz (IPLEDGE_WORKER_METRICS_PORT): one check for both roles.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["ipledge", "healthcheck"]
# SIGTERM drains (docs/operations.md); give the container more than
# IPLEDGE_SHUTDOWN_DRAIN_S + IPLEDGE_GRACEFUL_SHUTDOWN_S to stop.
STOPSIGNAL SIGTERM
CMD ["ipledge", "serve", "--host", "0.0.0.0", "--port", "8000"]
