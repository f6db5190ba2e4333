"""Retention: what the service keeps, and for how long, deleted in bounded batches.

Each pass deletes at most ``retention_batch_size`` rows per statement, each statement its own
short transaction, until a statement deletes fewer: a large backlog never becomes one long
transaction holding locks and bloating the table at once.
"""

from __future__ import annotations

from datetime import timedelta

from app.core.runtime import Runtime

IDEMPOTENCY_SQL = """
DELETE FROM idempotency_records
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM idempotency_records WHERE created_at <= $1 ORDER BY created_at LIMIT $2
))
"""


async def _batched(runtime: Runtime, sql: str, *args: object) -> int:
    batch = runtime.settings.retention_batch_size
    total = 0
    while True:
        async with runtime.database.connection() as db:
            status = await db.execute(sql, *args, batch)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total


async def purge_idempotency_records(runtime: Runtime) -> int:
    """Forget stored responses older than the replay window."""
    cutoff = runtime.clock.now() - timedelta(hours=runtime.settings.idempotency_ttl_hours)
    return await _batched(runtime, IDEMPOTENCY_SQL, cutoff)
