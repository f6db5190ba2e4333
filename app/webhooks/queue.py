"""The relay's SQL: fan-out, claim and record, each one statement for a whole batch.

Every statement stands alone (autocommit): a claim is committed before any HTTP request is
sent, so no transaction is held open across the network, and a worker that dies mid-batch
leaves only leases that run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.core.db import Db
from app.models.webhook_delivery import DeliveryStatus

FAN_OUT_SQL = f"""
WITH batch AS (
    SELECT id, type, district_code FROM outbox_events
    WHERE dispatched_at IS NULL
    ORDER BY id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE outbox_events o SET dispatched_at = $1 FROM batch WHERE o.id = batch.id
), deliveries AS (
    INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at,
                                    created_at)
    SELECT b.id, w.id, '{DeliveryStatus.PENDING}', 0, $1, $1
    FROM batch b
    JOIN webhook_endpoints w
      ON w.enabled AND b.type = ANY (w.event_types)
     AND (w.district_code IS NULL OR w.district_code = b.district_code)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM batch) AS events, (SELECT count(*) FROM deliveries) AS deliveries
"""

# Due deliveries whose lease is free (never taken, or left behind by a worker that died).
# Those of an endpoint disabled meanwhile fail here rather than being sent.
# A lease that ran out is an attempt that was made (the request may well have reached the
# receiver) and never answered: it is recorded as one (no status code) and counted, so that
# every attempt is on record. When it started is not stored: it is taken as the lease's end
# less the lease length this worker uses (a deployment's workers share one), never before the
# delivery was due; its latency is the time the lease held it without an answer.
LOST_LEASE_ERROR = "worker lost before an answer (lease expired)"

CLAIM_SQL = f"""
WITH due AS (
    SELECT d.event_id, d.endpoint_id, w.enabled, d.lease_id AS lost_lease, d.locked_until,
           d.next_attempt_at
    FROM webhook_deliveries d
    JOIN webhook_endpoints w ON w.id = d.endpoint_id
    WHERE d.status = '{DeliveryStatus.PENDING}' AND d.next_attempt_at <= $1
      AND (d.locked_until IS NULL OR d.locked_until < $1)
    ORDER BY d.next_attempt_at
    LIMIT $2
    FOR UPDATE OF d SKIP LOCKED
), lost AS (
    SELECT event_id, endpoint_id, locked_until,
           least(greatest(next_attempt_at, locked_until - ($3 - $1)), locked_until) AS started_at
    FROM due WHERE lost_lease IS NOT NULL
), lost_attempts AS (
    INSERT INTO webhook_attempts (event_id, endpoint_id, attempted_at, status_code, latency_ms,
                                  error)
    SELECT event_id, endpoint_id, started_at, NULL,
           (extract(epoch FROM locked_until - started_at) * 1000)::int, $5
    FROM lost
), orphaned AS (
    UPDATE webhook_deliveries d
    SET status = '{DeliveryStatus.FAILED}', next_attempt_at = NULL, locked_until = NULL,
        lease_id = NULL,
        attempts = d.attempts + (due.lost_lease IS NOT NULL)::int,
        last_error = coalesce(d.last_error, 'endpoint disabled')
    FROM due
    WHERE NOT due.enabled AND d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id
)
UPDATE webhook_deliveries d
SET locked_until = $3, lease_id = $4,
    attempts = d.attempts + (lost.event_id IS NOT NULL)::int,
    last_attempt_at = coalesce(lost.started_at, d.last_attempt_at),
    last_status_code = CASE WHEN lost.event_id IS NULL THEN d.last_status_code END,
    last_error = CASE WHEN lost.event_id IS NULL THEN d.last_error ELSE $5 END
FROM due
LEFT JOIN lost ON lost.event_id = due.event_id AND lost.endpoint_id = due.endpoint_id,
     outbox_events e, webhook_endpoints w
WHERE due.enabled AND d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id
  AND e.id = d.event_id AND w.id = d.endpoint_id
RETURNING d.event_id, d.endpoint_id, d.attempts, e.type, e.occurred_at, e.data::text AS data,
          w.url, w.secret, w.previous_secret, w.previous_secret_expires_at
"""

# Only the lease holder records: a worker whose lease ran out and was taken back by another
# worker finds its attempt already on record (the claim wrote it as lost), so writing it again
# would count one attempt twice. A retry for an endpoint disabled meanwhile fails, and stays
# failed when the endpoint was enabled again before the answer came (disabling failed it).
RECORD_SQL = f"""
WITH o AS (
    SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::timestamptz[], $5::int[], $6::int[],
                         $7::text[], $8::text[], $9::timestamptz[])
        AS o(event_id, endpoint_id, attempted_at, status_code, latency_ms, error, status,
             next_attempt_at)
), attempts AS (
    INSERT INTO webhook_attempts (event_id, endpoint_id, attempted_at, status_code, latency_ms,
                                  error)
    SELECT o.event_id, o.endpoint_id, o.attempted_at, o.status_code, o.latency_ms, o.error
    FROM o JOIN webhook_deliveries d
      ON d.event_id = o.event_id AND d.endpoint_id = o.endpoint_id AND d.lease_id = $1
)
UPDATE webhook_deliveries d
SET status = CASE WHEN o.status = '{DeliveryStatus.PENDING}'
                       AND (NOT w.enabled OR d.status = '{DeliveryStatus.FAILED}')
                  THEN '{DeliveryStatus.FAILED}' ELSE o.status END,
    next_attempt_at = CASE WHEN w.enabled AND d.status = '{DeliveryStatus.PENDING}'
                           THEN o.next_attempt_at END,
    attempts = d.attempts + 1,
    locked_until = NULL,
    lease_id = NULL,
    last_attempt_at = o.attempted_at,
    last_status_code = o.status_code,
    last_error = o.error
FROM o JOIN webhook_endpoints w ON w.id = o.endpoint_id
WHERE d.event_id = o.event_id AND d.endpoint_id = o.endpoint_id AND d.lease_id = $1
"""


# A stopping worker gives back what it claimed but never sent: the lease is freed and nothing
# else changes (no attempt was made), so the next worker sends it at once, for the first time.
RELEASE_SQL = """
UPDATE webhook_deliveries d SET locked_until = NULL, lease_id = NULL
FROM unnest($2::uuid[], $3::uuid[]) AS k(event_id, endpoint_id)
WHERE d.event_id = k.event_id AND d.endpoint_id = k.endpoint_id AND d.lease_id = $1
"""


@dataclass(slots=True)
class Claimed:
    event_id: UUID
    endpoint_id: UUID
    attempts: int
    type: str
    occurred_at: datetime
    data: str
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None


@dataclass(slots=True)
class Outcome:
    event_id: UUID
    endpoint_id: UUID
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    status: str  # what becomes of the delivery: pending (retry), delivered, failed
    next_attempt_at: datetime | None


async def fan_out(db: Db, *, now: datetime, limit: int) -> tuple[int, int]:
    """Turn up to ``limit`` new events into deliveries; returns (events, deliveries)."""
    row = await db.fetchrow(FAN_OUT_SQL, now, limit)
    assert row is not None  # an aggregate: always one row
    return int(row["events"]), int(row["deliveries"])


async def claim(
    db: Db, *, now: datetime, limit: int, lease_until: datetime, lease_id: UUID
) -> list[Claimed]:
    rows = await db.fetch(CLAIM_SQL, now, limit, lease_until, lease_id, LOST_LEASE_ERROR)
    return [Claimed(*row) for row in rows]


async def record(db: Db, *, lease_id: UUID, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    await db.execute(
        RECORD_SQL,
        lease_id,
        [o.event_id for o in outcomes],
        [o.endpoint_id for o in outcomes],
        [o.attempted_at for o in outcomes],
        [o.status_code for o in outcomes],
        [o.latency_ms for o in outcomes],
        [o.error for o in outcomes],
        [o.status for o in outcomes],
        [o.next_attempt_at for o in outcomes],
    )


async def release(db: Db, *, lease_id: UUID, unsent: Sequence[Claimed]) -> int:
    """Free the lease on the deliveries of a batch that were never sent; returns how many."""
    if not unsent:
        return 0
    status = await db.execute(
        RELEASE_SQL, lease_id, [c.event_id for c in unsent], [c.endpoint_id for c in unsent]
    )
    return int(status.split()[-1])
