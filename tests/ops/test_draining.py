"""A stopping API process drains: from SIGTERM its readiness answers 503 while it keeps
serving for the drain period, then it stops. A real ``ipledge serve`` and a real signal."""

from __future__ import annotations

import signal
import time

import httpx

from tests.ops.conftest import free_port, ipledge, wait_http


def test_readiness_turns_503_at_sigterm_while_requests_are_still_served(database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ipledge(
        "serve",
        "--port",
        str(port),
        env={"IPLEDGE_DATABASE_URL": database_url, "IPLEDGE_SHUTDOWN_DRAIN_S": "2"},
    )
    try:
        wait_http(f"{base}/readyz")
        server.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        ready = wait_http(f"{base}/readyz", status=503, timeout_s=1.5)
        assert ready.json()["status"] == "shutting down"
        # Still serving: the load balancer's last requests are answered.
        assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        # uvicorn hands the signal on once it has stopped: the exit is by SIGTERM.
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
        # It stopped only after the drain period.
        assert time.monotonic() - signalled >= 1.9
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
