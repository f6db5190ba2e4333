"""The serving knobs reach uvicorn, and an idle keep-alive connection is closed when its
setting says so (a real ``ipledge serve``)."""

from __future__ import annotations

import signal
import socket
import time

from app.ops.serving import uvicorn_options
from tests.conftest import make_settings
from tests.ops.conftest import free_port, ipledge, wait_http


def test_settings_become_uvicorn_options():
    settings = make_settings(
        keep_alive_s=90,
        graceful_shutdown_s=20,
        proxy_headers=True,
        forwarded_allow_ips="10.0.0.1,10.0.0.2",
    )
    options = uvicorn_options(settings, "127.0.0.1", 8000, 2)
    assert options["timeout_keep_alive"] == 90
    assert options["timeout_graceful_shutdown"] == 20
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.1,10.0.0.2"


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while not received.endswith(b'{"status":"ok"}'):
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    return received


def test_an_idle_keep_alive_connection_is_closed_after_its_timeout(database_url):
    port = free_port()
    server = ipledge(
        "serve",
        "--port",
        str(port),
        env={"IPLEDGE_DATABASE_URL": database_url, "IPLEDGE_KEEP_ALIVE_S": "1"},
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert b" 200 " in _get(sock)
            assert b" 200 " in _get(sock)  # kept alive
            time.sleep(2.5)
            sock.settimeout(2)
            assert sock.recv(4096) == b""  # closed by the server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
