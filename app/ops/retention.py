"""Retention: what the service keeps, and for how long, deleted in bounded batches.

Each pass deletes at most ``retention_batch_size`` rows per statement, each statement its own
short transaction, until a statement deletes fewer: a large backlog never becomes one long
transaction holding locks and bloating the table at once. The windows are settings
(``retention_*``); the audit trail is append-only and never deleted here (its archive plan is
in docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.db import Db
from app.core.runtime import Runtime
from app.webhooks import repository as webhooks

IDEMPOTENCY_SQL = """
DELETE FROM idempotency_records
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM idempotency_records WHERE created_at <= $1 ORDER BY created_at LIMIT $2
))
"""


async def _batched(runtime: Runtime, delete: BatchFn) -> int:
    batch = runtime.settings.retention_batch_size
    total = 0
    while True:
        async with runtime.database.connection() as db:
            deleted = await delete(db, batch)
        total += deleted
        if deleted < batch:
            return total


class BatchFn:
    """One bounded DELETE: ``await fn(db, limit)`` → rows deleted."""

    def __init__(self, sql: str, before: datetime, *, webhook: bool = True) -> None:
        self.sql, self.before, self.webhook = sql, before, webhook

    async def __call__(self, db: Db, limit: int) -> int:
        if self.webhook:
            return await webhooks.purge(db, self.sql, before=self.before, limit=limit)
        status = await db.execute(self.sql, self.before, limit)
        return int(status.split()[-1])


async def purge_idempotency_records(runtime: Runtime) -> int:
    """Forget stored responses older than the replay window."""
    cutoff = runtime.clock.now() - timedelta(hours=runtime.settings.idempotency_ttl_hours)
    return await _batched(runtime, BatchFn(IDEMPOTENCY_SQL, cutoff, webhook=False))


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
            counts[name] = await _batched(runtime, BatchFn(sql, now - timedelta(days=days)))
    purged = WebhookPurge(**counts)
    return purged if any(counts.values()) else None
