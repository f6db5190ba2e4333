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
from app.core import tracing
from app.core.context import SYSTEM
from app.core.heartbeat import HEARTBEAT
from app.core.ids import uuid7
from app.core.runtime import Runtime
from app.models.webhook_delivery import DeliveryStatus
from app.webhooks import metrics, queue, schedule, service
from app.webhooks.sender import Answer, Sender

log = structlog.get_logger("ipledge.webhooks")

LOOP_NAME = "webhook_relay"
GONE_REASON = "the endpoint answered 410 Gone"
# An attempt in flight when the worker had to stop (its grace period ran out): the request may
# have reached the receiver, so it counts as an attempt, recorded at once.
STOPPED_ERROR = "worker stopped before an answer"


def batch_seconds(settings: Settings) -> float:
    """The longest one batch can take to send: every lane round timing out."""
    rounds = math.ceil(settings.webhook_batch_size / settings.webhook_concurrency)
    return rounds * settings.webhook_timeout_s


def lease_seconds(settings: Settings) -> float:
    """Long enough for a whole batch to time out, lane round after lane round, and be
    recorded."""
    return batch_seconds(settings) + 30.0


def stop_grace_s(settings: Settings) -> float:
    """How long a stopping worker waits for the relay: at least one batch and its recording,
    however short ``worker_shutdown_grace_s`` was set."""
    return max(settings.worker_shutdown_grace_s, batch_seconds(settings) + 5.0)


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

    async def once(self, stop: asyncio.Event | None = None) -> tuple[int, int]:
        """Fan out one batch of events and make one batch of deliveries; returns
        (events fanned out, deliveries attempted). Once ``stop`` is set nothing more is
        claimed."""
        events = await self.fan_out()
        if stop is not None and stop.is_set():
            return events, 0
        attempted = await self.deliver(stop)
        return events, attempted

    async def fan_out(self) -> int:
        async with self.runtime.database.connection() as db:
            events, _ = await queue.fan_out(
                db, now=self.runtime.clock.now(), limit=self.settings.webhook_batch_size
            )
        return events

    async def deliver(self, stop: asyncio.Event | None = None) -> int:
        """Claim a batch and send it. When ``stop`` is set meanwhile, requests in flight
        finish and the rest are not sent; whatever happens, even cancellation, what was
        answered is recorded as answered and the leases of what was never sent are freed."""
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
        # The batch's request id, on its spans (app.core.tracing).
        token = tracing.REQUEST_ID.set(f"relay-{lease_id.hex[:12]}")
        answers = [Answer() for _ in batch]
        try:
            await self.sender.post_all(batch, stop, answers)
        finally:
            try:
                sent = await self._finish(lease_id, batch, answers)
            finally:
                tracing.REQUEST_ID.reset(token)
        return sent

    async def _finish(
        self, lease_id: UUID, batch: list[queue.Claimed], answers: list[Answer]
    ) -> int:
        """Record the attempts made, free the leases of the deliveries never sent."""
        made = [
            (item, answer) for item, answer in zip(batch, answers, strict=True) if answer.started
        ]
        unsent = [item for item, answer in zip(batch, answers, strict=True) if not answer.started]
        for _, answer in made:
            if not answer.done:
                answer.error, answer.kind = STOPPED_ERROR, "interrupted"
        outcomes, gone = self._settle([i for i, _ in made], [a for _, a in made])
        async with self.runtime.database.connection() as db:
            await queue.record(db, lease_id=lease_id, outcomes=outcomes)
            released = await queue.release(db, lease_id=lease_id, unsent=unsent)
        if released:
            log.info("unsent deliveries given back", deliveries=released)
        for endpoint_id in gone:
            await self._disable_gone(endpoint_id)
        for _, answer in made:
            metrics.ATTEMPTS.labels(answer.kind).inc()
            metrics.LATENCY.labels(answer.kind).observe(answer.latency_ms / 1000)
        return len(made)

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
                status = DeliveryStatus.DELIVERED
            elif item.endpoint_id in gone:
                status = DeliveryStatus.FAILED
            else:
                next_at = schedule.next_attempt_at(
                    attempts_made=item.attempts + 1,
                    now=attempted_at,
                    schedule=self.settings.webhook_retry_schedule_s,
                    jitter=self.settings.webhook_retry_jitter,
                    retry_after_s=schedule.parse_retry_after(answer.retry_after, attempted_at),
                    rng=self._rng,
                )
                status = DeliveryStatus.PENDING if next_at is not None else DeliveryStatus.FAILED
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
                events, attempted = await self.once(stop)
                busy = events >= batch or attempted >= batch
                HEARTBEAT.beat(LOOP_NAME)
            except Exception as exc:
                HEARTBEAT.beat(LOOP_NAME, ok=False)
                self.runtime.log_failure(log, "webhook relay pass failed", exc)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.worker_poll_interval_s)


async def relay_once(runtime: Runtime) -> int:
    """One fan-out and one delivery batch; returns the deliveries attempted."""
    async with Relay(runtime) as relay:
        _, attempted = await relay.once()
    return attempted


async def run_relay(runtime: Runtime, stop: asyncio.Event) -> None:
    """The relay as ``ipledge worker`` runs it."""
    async with Relay(runtime) as relay:
        await relay.run(stop)
