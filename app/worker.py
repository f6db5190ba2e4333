"""``ipledge worker``: the jobs that run beside the API.

Every job is listed in the registry below (``JOBS``, ``LOOPS``); nothing registers itself by
being imported. Adding a job is one line there: a name, how often, and the function.

Each job runs in its own loop with its own connection and transaction. Any number of workers
may run at once: every job is written to be safe under that (row locks with SKIP LOCKED, or
statements whose effect happens once whoever runs them).

At SIGTERM (or SIGINT) the worker stops starting work: periodic jobs finish the pass in hand,
the relay sends no new request, lets those in flight finish, records every attempt made and
gives back the deliveries it claimed but never sent. It waits for that as long as the longest
loop's grace period (for the relay, at least one batch), then cancels what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from app.applications import sweep as sla_sweep
from app.config import Settings
from app.core.runtime import Runtime
from app.ops.retention import purge_idempotency_records
from app.webhooks import relay

log = structlog.get_logger("ipledge.worker")

JobFn = Callable[[Runtime], Awaitable[object]]
LoopFn = Callable[[Runtime, asyncio.Event], Awaitable[object]]


def _no_grace(settings: Settings) -> float:
    return settings.worker_shutdown_grace_s


@dataclass(frozen=True)
class Job:
    """A job run every ``interval(settings)`` seconds."""

    name: str
    interval: Callable[[Settings], float]
    run: JobFn


@dataclass(frozen=True)
class Loop:
    """A job that runs continuously and watches ``stop`` itself, so that it can finish the
    batch in hand when the worker is asked to stop; ``grace`` is how long it may take."""

    name: str
    run: LoopFn
    grace: Callable[[Settings], float] = _no_grace


# --- the registry --------------------------------------------------------------------------

JOBS: tuple[Job, ...] = (
    Job("sla_sweep", lambda s: s.sla_sweep_interval_s, sla_sweep.sweep_job),
    Job("idempotency_retention", lambda s: s.retention_interval_s, purge_idempotency_records),
)

LOOPS: tuple[Loop, ...] = (Loop("webhook_relay", relay.run_relay, grace=relay.stop_grace_s),)

# -------------------------------------------------------------------------------------------


async def _loop(job: Job, runtime: Runtime, stop: asyncio.Event) -> None:
    interval = job.interval(runtime.settings)
    # Spread workers that start together across the interval.
    await _sleep_or_stop(stop, random.uniform(0, min(interval, 5.0)))
    while not stop.is_set():
        try:
            result = await job.run(runtime)
            if result:
                log.info("job done", job=job.name, result=result)
        except Exception as exc:
            log.error("job failed", job=job.name, error=type(exc).__name__, exc_info=exc)
        await _sleep_or_stop(stop, interval)


async def _run_loop(loop: Loop, runtime: Runtime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await loop.run(runtime, stop)
        except Exception as exc:  # the loop itself broke: start it again after a pause
            log.error("loop failed", loop=loop.name, error=type(exc).__name__, exc_info=exc)
            await _sleep_or_stop(stop, runtime.settings.worker_poll_interval_s)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def grace_s(settings: Settings, loops: tuple[Loop, ...] = LOOPS) -> float:
    """How long a stopping worker waits for its jobs and loops to finish."""
    return max([settings.worker_shutdown_grace_s, *(loop.grace(settings) for loop in loops)])


async def _stop_all(
    runtime: Runtime, jobs: list[asyncio.Task[None]], loops: list[asyncio.Task[None]]
) -> None:
    grace = grace_s(runtime.settings)
    log.info("worker stopping", grace_s=grace)
    pending = [*jobs, *loops]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            log.warning("cancelled at the end of the grace period", task=task.get_name())
            task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def run_forever(runtime: Runtime | None = None, stop: asyncio.Event | None = None) -> None:
    runtime = runtime or Runtime.create()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if runtime.settings.worker_metrics_port is not None:
        from prometheus_client import start_http_server

        from app.core.metrics import REGISTRY

        settings = runtime.settings
        start_http_server(
            settings.worker_metrics_port, settings.worker_metrics_host, registry=REGISTRY
        )
    log.info("worker started", jobs=[job.name for job in JOBS], loops=[lp.name for lp in LOOPS])
    jobs = [asyncio.create_task(_loop(job, runtime, stop), name=job.name) for job in JOBS]
    loops = [asyncio.create_task(_run_loop(lp, runtime, stop), name=lp.name) for lp in LOOPS]
    try:
        await stop.wait()
    finally:
        stop.set()
        await _stop_all(runtime, jobs, loops)
        await runtime.close()
        log.info("worker stopped")
