"""The worker's own HTTP listener (``IPLEDGE_WORKER_METRICS_PORT``): ``/healthz`` for the
orchestrator and ``/metrics`` for Prometheus (its counters and the business gauges).

Health: every job and loop reports each pass it completes (``Heartbeat.beat``), successful or
not; the worker is healthy while none has gone quiet for longer than it may (a pass stuck on
something that never returns), and not while it is stopping. A database that is down makes
passes fail, quickly, not go quiet: that is readiness's business, not a reason to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import structlog

from app.config import Settings
from app.core import metrics
from app.core.heartbeat import HEARTBEAT
from app.ops.access import metrics_allowed

log = structlog.get_logger("ipledge.worker")


def _response(status: int, body: bytes, content_type: str) -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'OK')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def answer(path: str, authorization: str | None, settings: Settings) -> bytes:
    if path == "/healthz":
        quiet = HEARTBEAT.quiet()
        healthy = not quiet and not HEARTBEAT.stopping
        status = "ok" if healthy else ("stopping" if HEARTBEAT.stopping else "stuck")
        body = json.dumps({"status": status, "quiet": quiet}).encode()
        return _response(200 if healthy else 503, body, "application/json")
    if path == "/metrics":
        if not metrics_allowed(settings, authorization):
            return _response(401, b"metrics token required\n", "text/plain")
        return _response(200, metrics.render(metrics.BUSINESS), "text/plain; version=0.0.4")
    return _response(404, b"not found\n", "text/plain")


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: Settings
) -> None:
    try:
        async with asyncio.timeout(5):
            request_line = (await reader.readline()).decode("latin-1").split()
            authorization = None
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "authorization":
                    authorization = value.strip()
        path = request_line[1].split("?")[0] if len(request_line) >= 2 else "/"
        writer.write(answer(path, authorization, settings))
        await writer.drain()
    except (TimeoutError, ConnectionError, UnicodeError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


class CannotListen(Exception):
    """The listener's address is taken or does not exist here: a setting to correct."""


async def serve(settings: Settings) -> asyncio.Server | None:
    """Start the listener when a port is set."""
    if settings.worker_metrics_port is None:
        return None
    try:
        server = await asyncio.start_server(
            lambda r, w: _handle(r, w, settings),
            settings.worker_metrics_host,
            settings.worker_metrics_port,
        )
    except OSError as exc:
        raise CannotListen(
            "invalid setting IPLEDGE_WORKER_METRICS_HOST / IPLEDGE_WORKER_METRICS_PORT: cannot "
            f"listen on {settings.worker_metrics_host}:{settings.worker_metrics_port} "
            f"({exc.strerror or type(exc).__name__})"
        ) from None
    log.info(
        "worker listener",
        host=settings.worker_metrics_host,
        port=settings.worker_metrics_port,
        paths=["/healthz", "/metrics"],
    )
    return server
