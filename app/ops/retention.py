"""Retention: what the service keeps, and for how long, deleted in bounded batches.

Each pass deletes at most ``retention_batch_size`` rows per statement, each statement its own
short transaction, until a statement deletes fewer: a large backlog never becomes one long
transaction holding locks and bloating the table at once. The windows are settings
(``retention_*``); the audit trail is append-only and never deleted here (its archive plan is
in docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from app.core import idempotency
from app.core.db import Db
from app.core.runtime import Runtime
from app.webhooks import repository as webhooks

Delete = Callable[[Db, int], Awaitable[int]]


async def _batched(runtime: Runtime, delete: Delete) -> int:
    """Run ``delete(db, limit)`` until a batch deletes fewer than ``limit`` rows."""
    batch = runtime.settings.retention_batch_size
    total = 0
    while True:
        async with runtime.database.connection() as db:
            deleted = await delete(db, batch)
        total += deleted
        if deleted < batch:
            return total


async def purge_idempotency_records(runtime: Runtime) -> int:
    """Forget stored responses older than the replay window."""
    cutoff = runtime.clock.now() - timedelta(hours=runtime.settings.idempotency_ttl_hours)
    return await _batched(runtime, partial(idempotency.purge, before=cutoff))


@dataclass(frozen=True)
class WebhookPurge:
    attempts: int
    deliveries: int
    events: int


async def purge_webhook_history(runtime: Runtime) -> WebhookPurge | None:
    """Old attempts, then finished deliveries (with their attempts), then events left with
    no delivery: in that order, so each foreign key is satisfied."""
    settings, now = runtime.settings, runtime.clock.now()
    counts = {}
    for name, days, sql in (
        ("attempts", settings.retention_webhook_attempts_days, webhooks.PURGE_ATTEMPTS_SQL),
        ("deliveries", settings.retention_webhook_deliveries_days, webhooks.PURGE_DELIVERIES_SQL),
        ("events", settings.retention_webhook_events_days, webhooks.PURGE_EVENTS_SQL),
    ):
        counts[name] = 0
        if days is not None:
            delete = partial(webhooks.purge, sql=sql, before=now - timedelta(days=days))
            counts[name] = await _batched(runtime, delete)
    purged = WebhookPurge(**counts)
    return purged if any(counts.values()) else None
