"""``ipledge worker``: the jobs that run beside the API.

Each job runs in its own loop with its own connection and transaction. Any number of workers
may run at once: every job is written to be safe under that (row locks with SKIP LOCKED, or
statements whose effect happens once whoever runs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from app.config import Settings
from app.core.runtime import Runtime

log = structlog.get_logger("ipledge.worker")

JobFn = Callable[[Runtime], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    name: str
    interval: Callable[[Settings], float]
    run: JobFn


JOBS: list[Job] = []

LoopFn = Callable[[Runtime, asyncio.Event], Awaitable[object]]


@dataclass(frozen=True)
class Loop:
    """A job that runs continuously (the webhook relay) and watches ``stop`` itself, so that
    it can finish the batch in hand when the worker is asked to stop."""

    name: str
    run: LoopFn


LOOPS: list[Loop] = []


def periodic(name: str, interval: Callable[[Settings], float]) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS.append(Job(name=name, interval=interval, run=fn))
        return fn

    return register


def continuous(name: str) -> Callable[[LoopFn], LoopFn]:
    def register(fn: LoopFn) -> LoopFn:
        LOOPS.append(Loop(name=name, run=fn))
        return fn

    return register


@periodic("idempotency_cleanup", lambda s: 3600.0)
async def purge_idempotency_records(runtime: Runtime) -> int:
    """Forget stored responses older than the replay window."""
    cutoff = runtime.clock.now() - timedelta(hours=runtime.settings.idempotency_ttl_hours)
    async with runtime.database.connection() as db:
        status = await db.execute("DELETE FROM idempotency_records WHERE created_at <= $1", cutoff)
    return int(status.split()[-1])


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


def _load_jobs() -> None:
    """Import the domains that register jobs."""
    import app.routers  # noqa: F401 - registers every domain's jobs with their modules
    from app.applications.sweep import sweep_job

    if not any(job.name == "sla_sweep" for job in JOBS):
        periodic("sla_sweep", lambda settings: settings.sla_sweep_interval_s)(sweep_job)


async def run_forever(runtime: Runtime | None = None, stop: asyncio.Event | None = None) -> None:
    _load_jobs()
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
    tasks = [asyncio.create_task(_loop(job, runtime, stop), name=job.name) for job in JOBS]
    loops = [asyncio.create_task(_run_loop(lp, runtime, stop), name=lp.name) for lp in LOOPS]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        if loops:
            # Let the loops finish the batch in hand (what they leave is retried anyway).
            await asyncio.wait(loops, timeout=runtime.settings.worker_shutdown_grace_s)
        for task in loops:
            task.cancel()
        await asyncio.gather(*tasks, *loops, return_exceptions=True)
        await runtime.close()
        log.info("worker stopped")
