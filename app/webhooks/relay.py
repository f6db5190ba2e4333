"""The outbox relay: turns committed events into signed HTTP deliveries, at least once.

One pass (``Relay.once``): fan new events out to the endpoints that want them, claim a batch of
due deliveries under a lease (``FOR UPDATE SKIP LOCKED``, committed at once), post them
concurrently, and record every attempt and its consequence in one statement. Any number of
workers can run it: a delivery is claimed by one worker per attempt, and a worker that dies
mid-batch leaves leases that run out, after which another worker sends the same event again
with the same ``webhook-id``.

Memory stays flat whatever the backlog: a worker holds one batch at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from app.config import Settings
from app.core.context import SYSTEM
from app.core.ids import uuid7
from app.core.runtime import Runtime
from app.webhooks import metrics, queue, schedule, service
from app.webhooks.sender import Answer, Sender
from app.worker import continuous

log = structlog.get_logger("ipledge.webhooks")

GONE_REASON = "the endpoint answered 410 Gone"


def lease_seconds(settings: Settings) -> float:
    """Long enough for a whole batch to time out, lane round after lane round, and be
    recorded."""
    rounds = math.ceil(settings.webhook_batch_size / settings.webhook_concurrency)
    return rounds * settings.webhook_timeout_s + 30.0


class Relay:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.sender = Sender(self.settings, runtime.clock)
        self._rng = random.Random()

    async def close(self) -> None:
        await self.sender.close()

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- one pass -----------------------------------------------------------------------

    async def once(self) -> tuple[int, int]:
        """Fan out one batch of events and make one batch of deliveries; returns
        (events fanned out, deliveries attempted)."""
        events = await self.fan_out()
        attempted = await self.deliver()
        return events, attempted

    async def fan_out(self) -> int:
        async with self.runtime.database.connection() as db:
            events, _ = await queue.fan_out(
                db, now=self.runtime.clock.now(), limit=self.settings.webhook_batch_size
            )
        return events

    async def deliver(self) -> int:
        now = self.runtime.clock.now()
        lease_id = uuid7()
        async with self.runtime.database.connection() as db:
            batch = await queue.claim(
                db,
                now=now,
                limit=self.settings.webhook_batch_size,
                lease_until=now + timedelta(seconds=lease_seconds(self.settings)),
                lease_id=lease_id,
            )
        if not batch:
            return 0
        answers = await self.sender.post_all(batch)
        outcomes, gone = self._settle(batch, answers)
        async with self.runtime.database.connection() as db:
            await queue.record(db, lease_id=lease_id, outcomes=outcomes)
        for endpoint_id in gone:
            await self._disable_gone(endpoint_id)
        for answer in answers:
            metrics.ATTEMPTS.labels(answer.kind).inc()
        return len(batch)

    # --- consequences ---------------------------------------------------------------------

    def _settle(
        self, batch: list[queue.Claimed], answers: list[Answer]
    ) -> tuple[list[queue.Outcome], set[UUID]]:
        """What becomes of each delivery: delivered on 2xx; failed on 410 (with every other
        delivery of that endpoint in the batch) or when the schedule is spent; else due again
        after the schedule's next wait, or the receiver's Retry-After when that is longer."""
        gone = {
            item.endpoint_id
            for item, answer in zip(batch, answers, strict=True)
            if answer.status_code == 410
        }
        outcomes = []
        for item, answer in zip(batch, answers, strict=True):
            attempted_at = answer.attempted_at or self.runtime.clock.now()
            next_at: datetime | None = None
            if answer.status_code is not None and 200 <= answer.status_code < 300:
                status = "delivered"
            elif item.endpoint_id in gone:
                status = "failed"
            else:
                next_at = schedule.next_attempt_at(
                    attempts_made=item.attempts + 1,
                    now=attempted_at,
                    schedule=self.settings.webhook_retry_schedule_s,
                    jitter=self.settings.webhook_retry_jitter,
                    retry_after_s=schedule.parse_retry_after(answer.retry_after, attempted_at),
                    rng=self._rng,
                )
                status = "pending" if next_at is not None else "failed"
            outcomes.append(
                queue.Outcome(
                    event_id=item.event_id,
                    endpoint_id=item.endpoint_id,
                    attempted_at=attempted_at,
                    status_code=answer.status_code,
                    latency_ms=answer.latency_ms,
                    error=answer.error,
                    status=status,
                    next_attempt_at=next_at,
                )
            )
        return outcomes, gone

    async def _disable_gone(self, endpoint_id: UUID) -> None:
        async with self.runtime.unit_of_work(SYSTEM, label="webhook-relay") as ctx:
            await service.disable_endpoint(ctx, endpoint_id=endpoint_id, reason=GONE_REASON)
        log.warning("webhook endpoint gone; disabled", endpoint_id=str(endpoint_id))

    # --- the worker's loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: straight on while batches come back full, a poll interval's rest
        when there was little to do."""
        batch = self.settings.webhook_batch_size
        while not stop.is_set():
            busy = False
            try:
                events, attempted = await self.once()
                busy = events >= batch or attempted >= batch
            except Exception as exc:
                log.error("webhook relay pass failed", error=type(exc).__name__, exc_info=exc)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.worker_poll_interval_s)


async def relay_once(runtime: Runtime) -> int:
    """One fan-out and one delivery batch; returns the deliveries attempted."""
    async with Relay(runtime) as relay:
        _, attempted = await relay.once()
    return attempted


@continuous("webhook_relay")
async def run_relay(runtime: Runtime, stop: asyncio.Event) -> None:
    """The relay as ``ipledge worker`` runs it."""
    async with Relay(runtime) as relay:
        await relay.run(stop)
