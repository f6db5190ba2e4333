"""``make run`` with no database URL starts the embedded PostgreSQL, and stopping the service
stops it: a SIGTERM (what a terminal's supervisor, ``kill`` or a container runtime sends) ends
the service after its graceful shutdown and the embedded server with it, rather than leaving a
PostgreSQL running under ``var/`` that nothing will stop."""

from __future__ import annotations

import time

import pytest

from tests.client.served import served, stop_embedded_server


@pytest.mark.committed
def test_sigterm_stops_the_embedded_server_with_the_service(tmp_path):
    var_dir = tmp_path / "var"
    pid_file = var_dir / "pgdata" / "postmaster.pid"
    try:
        with served(None, var_dir=str(var_dir)):  # sends SIGTERM and waits when it ends
            assert pid_file.exists()
        deadline = time.monotonic() + 30
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_file.exists(), "the embedded PostgreSQL outlived the service"
    finally:
        stop_embedded_server(var_dir)
