"""The container files, checked without a container engine: compose.yaml parses and wires
PostgreSQL, a one-shot migration, the API and the worker with health checks on /readyz and the
worker's /healthz; the Dockerfile installs dependencies before copying the code and nothing a
test needs; and ``ipledge healthcheck`` (the image's HEALTHCHECK) tells up from down."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from app.config import PROJECT_ROOT
from tests.ops.conftest import free_port, ipledge

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()


def test_compose_has_the_four_services_in_order():
    services = COMPOSE["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == ["ipledge", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_compose_health_checks_ask_readiness_and_the_workers_health():
    api, worker = COMPOSE["services"]["api"], COMPOSE["services"]["worker"]
    assert api["healthcheck"]["test"][-1].endswith("/readyz")
    port = worker["environment"]["IPLEDGE_WORKER_METRICS_PORT"]
    assert worker["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/healthz"
    assert worker["command"] == ["ipledge", "worker"]
    # Both share the image's settings, the database URL first.
    for service in (api, worker, COMPOSE["services"]["migrate"]):
        assert service["environment"]["IPLEDGE_DATABASE_URL"].startswith("postgresql://")


def test_compose_stop_periods_cover_draining_and_a_webhook_batch():
    api, worker = COMPOSE["services"]["api"], COMPOSE["services"]["worker"]
    seconds = lambda text: int(text.rstrip("s"))  # noqa: E731
    env = api["environment"]
    assert seconds(api["stop_grace_period"]) > int(env["IPLEDGE_SHUTDOWN_DRAIN_S"]) + int(
        env["IPLEDGE_GRACEFUL_SHUTDOWN_S"]
    )
    # Defaults: 100 deliveries a batch over 32 lanes, 10 s each: 4 rounds + 5 s.
    assert seconds(worker["stop_grace_period"]) >= 45


def test_dockerfile_installs_dependencies_before_the_code_and_no_test_packages():
    lines = [line.strip() for line in DOCKERFILE.splitlines()]
    copy_deps = next(i for i, line in enumerate(lines) if line.startswith("COPY pyproject.toml"))
    install_deps = next(i for i, line in enumerate(lines) if "-r requirements.txt" in line)
    copy_code = next(i for i, line in enumerate(lines) if line.startswith("COPY app"))
    assert copy_deps < install_deps < copy_code
    assert "--no-deps" in DOCKERFILE
    assert not re.search(r"\[(dev|embedded)", DOCKERFILE)
    assert 'CMD ["ipledge", "healthcheck"]' in DOCKERFILE
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert "tests" in ignored


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def little_server():
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(("path", "code"), [("/readyz", 0), ("/healthz", 1)])
def test_healthcheck_exit_code_follows_the_answer(little_server, path, code):
    proc = ipledge("healthcheck", env={"IPLEDGE_HEALTHCHECK_URL": little_server + path})
    proc.communicate(timeout=60)
    assert proc.returncode == code


def test_healthcheck_of_nothing_listening_fails():
    proc = ipledge("healthcheck", "--url", f"http://127.0.0.1:{free_port()}/readyz")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "unhealthy" in stderr
