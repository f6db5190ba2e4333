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
from app.core import metrics, tracing
from app.core.heartbeat import HEARTBEAT
from app.core.runtime import Runtime
from app.loans.sweep import classification_sweep
from app.ops import gauges, health, lifecycle
from app.ops.retention import purge_idempotency_records, purge_webhook_history
from app.webhooks import relay

log = structlog.get_logger("ipledge.worker")

JobFn = Callable[[Runtime], Awaitable[object]]
LoopFn = Callable[[Runtime, asyncio.Event], Awaitable[object]]


def _configured_grace(settings: Settings) -> float:
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
    grace: Callable[[Settings], float] = _configured_grace
    # The longest it may go without completing a pass before the worker reports itself stuck.
    quiet_after: Callable[[Settings], float] = lambda s: 300.0


# --- the registry --------------------------------------------------------------------------

JOBS: tuple[Job, ...] = (
    Job("sla_sweep", lambda s: s.sla_sweep_interval_s, sla_sweep.sweep_job),
    Job("loan_classification_sweep", lambda s: s.sla_sweep_interval_s, classification_sweep),
    Job("business_gauges", lambda s: s.gauges_interval_s, gauges.refresh),
    Job("idempotency_retention", lambda s: s.retention_interval_s, purge_idempotency_records),
    Job("webhook_retention", lambda s: s.retention_interval_s, purge_webhook_history),
)

LOOPS: tuple[Loop, ...] = (
    Loop(
        relay.LOOP_NAME,
        relay.run_relay,
        grace=relay.stop_grace_s,
        quiet_after=lambda s: 2 * relay.lease_seconds(s),
    ),
)

# -------------------------------------------------------------------------------------------


async def _loop(job: Job, runtime: Runtime, stop: asyncio.Event) -> None:
    interval = job.interval(runtime.settings)
    # A pass may take a while (a sweep over a large book); twice the interval and ten minutes
    # more before the worker calls itself stuck.
    HEARTBEAT.expect(job.name, 2 * interval + 600)
    # Spread workers that start together across the interval.
    await _sleep_or_stop(stop, random.uniform(0, min(interval, 5.0)))
    while not stop.is_set():
        try:
            result = await job.run(runtime)
            HEARTBEAT.beat(job.name)
            if result:
                log.info("job done", job=job.name, result=result)
        except Exception as exc:
            HEARTBEAT.beat(job.name, ok=False)
            runtime.log_failure(log, "job failed", exc, job=job.name)
        await _sleep_or_stop(stop, interval)


async def _run_loop(loop: Loop, runtime: Runtime, stop: asyncio.Event) -> None:
    HEARTBEAT.expect(loop.name, loop.quiet_after(runtime.settings))
    while not stop.is_set():
        try:
            await loop.run(runtime, stop)
        except Exception as exc:  # the loop itself broke: start it again after a pause
            runtime.log_failure(log, "loop failed", exc, loop=loop.name)
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
    if runtime is None:
        tracing.configure("ipledge-worker")
        runtime = Runtime.create()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        listener = await health.serve(runtime.settings)
    except health.CannotListen:
        await runtime.close()
        raise
    await lifecycle.report_schema(runtime, until="every pass fails until it is")
    metrics.watch_pool(runtime.database.engine.sync_engine.pool)
    gauges.register(metrics.BUSINESS)
    log.info("worker started", jobs=[job.name for job in JOBS], loops=[lp.name for lp in LOOPS])
    jobs = [asyncio.create_task(_loop(job, runtime, stop), name=job.name) for job in JOBS]
    loops = [asyncio.create_task(_run_loop(lp, runtime, stop), name=lp.name) for lp in LOOPS]
    try:
        await stop.wait()
    finally:
        stop.set()
        HEARTBEAT.stopping = True
        await _stop_all(runtime, jobs, loops)
        if listener is not None:
            listener.close()
        await runtime.close()
        tracing.shutdown()
        log.info("worker stopped")
