"""Draining at shutdown: from the first SIGTERM (or SIGINT) ``/readyz`` answers 503, so a load
balancer stops routing here, while requests keep being served for ``shutdown_drain_s``; only
then does the server (uvicorn) start closing connections and finishing what is in flight
(its own ``timeout_graceful_shutdown``).

Uvicorn installs its signal handlers with ``signal.signal`` before the application starts;
``install`` chains in front of them and hands the signal on after the drain period.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import structlog

from app.core import metrics

log = structlog.get_logger("ipledge.lifecycle")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Lifecycle:
    """Whether this process is shutting down; ``/readyz`` reads it."""

    def __init__(self) -> None:
        self.draining = False

    def drain(self) -> None:
        if not self.draining:
            log.info("draining: readiness now answers 503")
        self.draining = True


Handler = Callable[[int, FrameType | None], Any] | int | None


def install(lifecycle: Lifecycle, drain_s: float) -> Callable[[], None]:
    """Chain in front of the server's signal handlers; returns what puts them back. Does
    nothing outside the main thread (tests running the app in-process)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Handler] = {}

    def hand_on(sig: int, frame: FrameType | None) -> None:
        handler = previous.get(sig)
        if callable(handler):
            handler(sig, frame)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        first = not lifecycle.draining
        lifecycle.drain()
        if first and drain_s > 0:
            loop.call_soon_threadsafe(loop.call_later, drain_s, hand_on, sig, None)
        else:  # no drain period, or a second signal: stop now
            hand_on(sig, frame)

    for sig in SIGNALS:
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)

    return restore


async def start(app: Any, runtime: Any) -> Callable[[], Awaitable[None]]:
    """What an API process runs beside its requests, from start-up to shutdown: the drain at
    SIGTERM and the metrics sampler. Returns what stops them."""
    restore = install(app.state.lifecycle, runtime.settings.shutdown_drain_s)
    await report_schema(runtime)
    pool = runtime.database.engine.sync_engine.pool
    metrics.watch_pool(pool)
    sampler = asyncio.create_task(metrics.sample_forever(), name="metrics-sampler")

    async def stop() -> None:
        restore()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        metrics.forget_pool(pool)
        metrics.process_exited()

    return stop


async def report_schema(runtime: Any, *, until: str = "not ready until it is") -> None:
    """Say at start-up, in an API process or a worker, when the schema is one this code cannot
    serve, and ``until`` what follows (an API's readiness stays 503; a worker's passes fail):
    the usual cause is a roll-out before ``ipledge migrate``, or a process pointed at the wrong
    database."""
    from app.ops import schema

    try:
        async with asyncio.timeout(3), runtime.database.connection() as db:
            state = await schema.inspect(db)
    except Exception as exc:  # the database is away: readiness reports it
        log.warning("schema not checked at start-up", error=type(exc).__name__)
        return
    if not state.ready:
        log.error(
            f"the database schema is not one this code can serve; {until}",
            schema=state.status,
            migration=state.revision,
            expected=state.expected,
        )
