"""SQL for webhook endpoints, their delivery history and the admins' view of events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import Filters
from app.models.webhook_delivery import DeliveryStatus

ENDPOINT_COLUMNS = (
    "id, url, event_types, district_code, enabled, disabled_reason, "
    "previous_secret_expires_at, created_at, updated_at, version"
)

# Failing everything an endpoint still had to send, what a worker is sending right now
# included: its lease is left to it, so that it still records its attempt, and the delivery stays
# failed unless that attempt was answered 2xx (``app.webhooks.queue.RECORD_SQL``). Left pending,
# an attempt in flight would be retried once the endpoint is enabled again.
_FAIL_PENDING = f"""
failed AS (
    UPDATE webhook_deliveries d
    SET status = '{DeliveryStatus.FAILED}', next_attempt_at = NULL,
        last_error = coalesce(d.last_error, 'endpoint disabled')
    FROM endpoint
    WHERE d.endpoint_id = endpoint.id AND d.status = '{DeliveryStatus.PENDING}'
)"""


async def district_exists(db: Db, code: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM districts WHERE code = $1", code))


async def insert_endpoint(
    db: Db,
    *,
    endpoint_id: UUID,
    url: str,
    event_types: list[str],
    district_code: str | None,
    secret: str,
    at: datetime,
    created_by: UUID | None,
) -> asyncpg.Record:
    return await db.fetchrow(
        f"""INSERT INTO webhook_endpoints
                (id, url, event_types, district_code, secret, enabled, created_at, created_by,
                 updated_at, version)
            VALUES ($1, $2, $3, $4, $5, true, $6, $7, $6, 1)
            RETURNING {ENDPOINT_COLUMNS}""",
        endpoint_id,
        url,
        event_types,
        district_code,
        secret,
        at,
        created_by,
    )


async def get_endpoint(db: Db, endpoint_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1", endpoint_id
    )


async def page_endpoints(
    db: Db, *, before: UUID | None, enabled: bool | None, limit: int
) -> list[asyncpg.Record]:
    filters = Filters().when(enabled, "enabled = {}").when(before, "id < {}")
    return await db.fetch(
        f"""SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints {filters.where()}
            ORDER BY id DESC LIMIT {filters.param(limit)}""",
        *filters.args,
    )


async def rotate_secret(
    db: Db,
    *,
    endpoint_id: UUID,
    secret: str,
    at: datetime,
    keep_until: datetime,
    version: list[int] | None,
) -> asyncpg.Record | None:
    filters = Filters(endpoint_id, secret, at, keep_until).add("id = $1")
    filters.when(version, "version = ANY({}::int[])")
    return await db.fetchrow(
        f"""UPDATE webhook_endpoints
            SET previous_secret = secret, previous_secret_expires_at = $4, secret = $2,
                updated_at = $3, version = version + 1
            {filters.where()}
            RETURNING {ENDPOINT_COLUMNS}""",
        *filters.args,
    )


async def disable(
    db: Db, *, endpoint_id: UUID, reason: str, at: datetime, version: list[int] | None
) -> asyncpg.Record | None:
    """Disable an enabled endpoint and fail what it still had to receive; None when it was
    not enabled (or not at ``version``)."""
    filters = Filters(endpoint_id, reason, at).add("id = $1 AND enabled")
    filters.when(version, "version = ANY({}::int[])")
    return await db.fetchrow(
        f"""WITH endpoint AS (
                UPDATE webhook_endpoints
                SET enabled = false, disabled_reason = $2, updated_at = $3, version = version + 1
                {filters.where()}
                RETURNING {ENDPOINT_COLUMNS}
            ),{_FAIL_PENDING}
            SELECT * FROM endpoint""",
        *filters.args,
    )


async def enable(
    db: Db, *, endpoint_id: UUID, at: datetime, version: list[int] | None
) -> asyncpg.Record | None:
    filters = Filters(endpoint_id, at).add("id = $1 AND NOT enabled")
    filters.when(version, "version = ANY({}::int[])")
    return await db.fetchrow(
        f"""UPDATE webhook_endpoints
            SET enabled = true, disabled_reason = NULL, updated_at = $2, version = version + 1
            {filters.where()}
            RETURNING {ENDPOINT_COLUMNS}""",
        *filters.args,
    )


async def page_attempts(
    db: Db, *, endpoint_id: UUID, before: int | None, limit: int
) -> list[asyncpg.Record]:
    filters = Filters(endpoint_id).add("endpoint_id = $1").when(before, "id < {}")
    return await db.fetch(
        f"""SELECT id, event_id, endpoint_id, attempted_at, status_code, latency_ms, error
            FROM webhook_attempts {filters.where()}
            ORDER BY id DESC LIMIT {filters.param(limit)}""",
        *filters.args,
    )


# --- events ----------------------------------------------------------------------------------

_EVENT_SELECT = f"""
SELECT e.id, e.type, e.occurred_at, e.district_code, e.data, e.dispatched_at,
       s.total, s.pending, s.failed, coalesce(s.deliveries, '[]'::jsonb) AS deliveries
FROM {{source}}
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE d.status = '{DeliveryStatus.PENDING}') AS pending,
           count(*) FILTER (WHERE d.status = '{DeliveryStatus.FAILED}') AS failed,
           jsonb_agg(jsonb_build_object(
               'endpoint_id', d.endpoint_id, 'status', d.status, 'attempts', d.attempts,
               'next_attempt_at', d.next_attempt_at, 'last_attempt_at', d.last_attempt_at,
               'last_status_code', d.last_status_code, 'last_error', d.last_error)
               ORDER BY d.endpoint_id) AS deliveries
    FROM webhook_deliveries d WHERE d.event_id = e.id
) s
"""

# An event the relay has not fanned out yet is pending; once fanned out, an event no endpoint
# wanted is not a webhook event and is not listed.
_STATUS_CLAUSES: dict[str | None, str] = {
    None: "(e.dispatched_at IS NULL OR s.total > 0)",
    DeliveryStatus.PENDING: "s.failed = 0 AND (e.dispatched_at IS NULL OR s.pending > 0)",
    DeliveryStatus.DELIVERED: (
        "e.dispatched_at IS NOT NULL AND s.total > 0 AND s.pending = 0 AND s.failed = 0"
    ),
}


async def get_event(db: Db, event_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        _EVENT_SELECT.format(source="outbox_events e") + " WHERE e.id = $1", event_id
    )


async def page_events(
    db: Db, *, status: str | None, event_type: str | None, before: UUID | None, limit: int
) -> list[asyncpg.Record]:
    filters = Filters()
    if status == DeliveryStatus.FAILED:
        # Driven from the failed deliveries (a partial index), not from the whole outbox.
        inner = Filters().add(f"status = '{DeliveryStatus.FAILED}'").when(before, "event_id < {}")
        if event_type is not None:
            inner.add(
                "EXISTS (SELECT 1 FROM outbox_events t WHERE t.id = event_id AND t.type = {})",
                event_type,
            )
        limit_param = inner.param(limit)
        source = f"""(SELECT DISTINCT event_id FROM webhook_deliveries {inner.where()}
                      ORDER BY event_id DESC LIMIT {limit_param}) f
                     JOIN outbox_events e ON e.id = f.event_id"""
        return await db.fetch(
            _EVENT_SELECT.format(source=source) + " ORDER BY e.id DESC", *inner.args
        )
    filters.add(_STATUS_CLAUSES[status])
    filters.when(event_type, "e.type = {}").when(before, "e.id < {}")
    return await db.fetch(
        _EVENT_SELECT.format(source="outbox_events e")
        + f" {filters.where()} ORDER BY e.id DESC LIMIT {filters.param(limit)}",
        *filters.args,
    )


async def redeliver(db: Db, *, event_id: UUID, at: datetime) -> asyncpg.Record:
    """Put an event's failed deliveries to enabled endpoints back on the schedule from its
    start. Returns how many were reset, how many had failed, and whether the event exists.
    A live lease stays (an attempt in flight when its endpoint was disabled): its worker records
    that attempt, and the delivery goes out again only after it."""
    return await db.fetchrow(
        f"""WITH reset AS (
               UPDATE webhook_deliveries d
               SET status = '{DeliveryStatus.PENDING}', attempts = 0, next_attempt_at = $2,
                   locked_until = CASE WHEN d.locked_until > $2 THEN d.locked_until END,
                   lease_id = CASE WHEN d.locked_until > $2 THEN d.lease_id END
               FROM webhook_endpoints w
               WHERE d.event_id = $1 AND d.status = '{DeliveryStatus.FAILED}'
                 AND w.id = d.endpoint_id AND w.enabled
               RETURNING d.endpoint_id
           )
           SELECT (SELECT count(*) FROM reset) AS reset,
                  (SELECT count(*) FROM webhook_deliveries
                   WHERE event_id = $1 AND status = '{DeliveryStatus.FAILED}') AS failed,
                  EXISTS (SELECT 1 FROM outbox_events WHERE id = $1) AS found""",
        event_id,
        at,
    )


# --- retention ---------------------------------------------------------------------------------
# Event ids are UUIDv7: "events before a time" is a range of the primary key (and of the
# deliveries' and attempts' event_id indexes), $1 being the lowest id of that time. Each
# statement deletes at most $3 rows and skips rows a worker holds.

PURGE_ATTEMPTS_SQL = """
DELETE FROM webhook_attempts WHERE id IN (
    SELECT id FROM webhook_attempts
    WHERE event_id < $1 AND attempted_at < $2
    ORDER BY event_id LIMIT $3
)
"""

# Finished deliveries (delivered or failed; never one still pending) with their attempts: one
# statement, so the attempts' foreign key is checked once both are gone.
PURGE_DELIVERIES_SQL = f"""
WITH doomed AS (
    SELECT event_id, endpoint_id FROM webhook_deliveries
    WHERE event_id < $1 AND created_at < $2 AND status <> '{DeliveryStatus.PENDING}'
    ORDER BY event_id LIMIT $3
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM webhook_attempts a USING doomed
    WHERE a.event_id = doomed.event_id AND a.endpoint_id = doomed.endpoint_id
)
DELETE FROM webhook_deliveries d USING doomed
WHERE d.event_id = doomed.event_id AND d.endpoint_id = doomed.endpoint_id
"""

# Events fanned out whose deliveries are all gone (or that no endpoint wanted).
PURGE_EVENTS_SQL = """
DELETE FROM outbox_events WHERE id IN (
    SELECT e.id FROM outbox_events e
    WHERE e.id < $1 AND e.occurred_at < $2 AND e.dispatched_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
    ORDER BY e.id LIMIT $3
    FOR UPDATE SKIP LOCKED
)
"""


def lowest_id_at(moment: datetime) -> UUID:
    """The lowest UUIDv7 made at ``moment``: ids below it were made before."""
    ms = int(moment.timestamp() * 1000)
    return UUID(int=(ms & 0xFFFF_FFFF_FFFF) << 80)


async def purge(db: Db, limit: int, *, sql: str, before: datetime) -> int:
    """One bounded batch of one of the statements above; returns the rows deleted."""
    status = await db.execute(sql, lowest_id_at(before), before, limit)
    return int(status.split()[-1])
