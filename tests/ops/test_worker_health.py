"""The worker's /healthz: healthy while every job keeps completing passes (failed passes
count: a database that is down is not a reason to restart), unhealthy when one has gone quiet
for longer than it may, and while stopping."""

from __future__ import annotations

import json
import signal
import time

import pytest

from app.core.heartbeat import Heartbeat
from app.ops import health
from tests.conftest import make_settings
from tests.ops.conftest import free_port, ipledge, wait_http


def _status(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture
def beat(monkeypatch) -> Heartbeat:
    fresh = Heartbeat()
    monkeypatch.setattr(health, "HEARTBEAT", fresh)
    return fresh


def test_healthy_while_passes_complete_even_failed_ones(beat):
    beat.expect("webhook_relay", 60)
    beat.beat("webhook_relay", ok=False)
    status, body = _status(health.answer("/healthz", None, make_settings()))
    assert (status, body["status"]) == (200, "ok")


def test_a_job_gone_quiet_makes_the_worker_unhealthy(beat):
    beat.expect("sla_sweep", 120)
    beat.expect("webhook_relay", 60)
    beat.beat("webhook_relay")
    beat._last["sla_sweep"] = time.monotonic() - 121  # its last pass, two minutes ago
    status, body = _status(health.answer("/healthz", None, make_settings()))
    assert status == 503
    assert body["status"] == "stuck" and list(body["quiet"]) == ["sla_sweep"]


def test_stopping_is_unhealthy(beat):
    beat.stopping = True
    status, body = _status(health.answer("/healthz", None, make_settings()))
    assert (status, body["status"]) == (503, "stopping")


def test_unknown_paths_and_the_token(beat):
    assert health.answer("/nope", None, make_settings()).startswith(b"HTTP/1.1 404")
    protected = make_settings(metrics_token="t0ken")
    assert health.answer("/metrics", None, protected).startswith(b"HTTP/1.1 401")
    assert health.answer("/metrics", "Bearer t0ken", protected).startswith(b"HTTP/1.1 200")


def test_a_worker_on_a_database_without_the_schema_says_so_at_start_up(scratch_database):
    # An operator's slip: a worker pointed at a database that was never migrated. Its passes
    # all fail; the first thing it logs says why, as an API process's start-up does.
    port = free_port()
    worker = ipledge(
        "worker",
        env={
            "IPLEDGE_DATABASE_URL": scratch_database("no_schema"),
            "IPLEDGE_WORKER_METRICS_PORT": str(port),
        },
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", status=None)
    finally:
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=60)
    output = stdout + stderr
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    refused = [
        line for line in lines if line["message"].startswith("the database schema is not one")
    ]
    assert len(refused) == 1, output[-2000:]
    assert refused[0]["level"] == "error" and refused[0]["migration"] is None
