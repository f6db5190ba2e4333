"""The outbox: domain events written in the same transaction as the change they report.

``emit()`` queues an event on the request; ``flush()`` writes the request's audit entries, its
events and (for an Idempotency-Key) its stored response in a single statement, inside the
request's transaction, just before commit. A change that rolls back therefore emits nothing,
and one that commits cannot lose its event. The webhook relay delivers from the table.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.core.context import Ctx, OutboxEntry
from app.core.ids import uuid7
from app.core.jsonutil import dumps_str, to_jsonable

_AUDIT_CTE = """
audit AS (
    INSERT INTO audit_events
        (occurred_at, actor_key_id, actor_role, actor_subject, action, entity_type, entity_id,
         before, after, request_id)
    SELECT $1, $2, $3, $4, a.action, a.entity_type, a.entity_id,
           a.before::jsonb, a.after::jsonb, $5
    FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         AS a(action, entity_type, entity_id, before, after)
)"""

_OUTBOX_CTE = """
outbox AS (
    INSERT INTO outbox_events (id, type, occurred_at, district_code, data)
    SELECT e.id, e.type, $1, e.district_code, e.data::jsonb
    FROM unnest($11::uuid[], $12::text[], $13::text[], $14::text[])
         AS e(id, type, district_code, data)
)"""

_IDEMPOTENCY_INSERT = """
INSERT INTO idempotency_records
    (api_key_id, idempotency_key, request_hash, status_code, headers, body, created_at)
VALUES ($15, $16, $17, $18, $19::jsonb, $20, $1)
ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
    headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = EXCLUDED.created_at
"""

FLUSH_SQL = f"WITH {_AUDIT_CTE},{_OUTBOX_CTE}\nSELECT 1"
FLUSH_WITH_RESPONSE_SQL = f"WITH {_AUDIT_CTE},{_OUTBOX_CTE}\n{_IDEMPOTENCY_INSERT}"


def emit(
    ctx: Ctx, event_type: str, data: dict[str, Any], *, district_code: str | None = None
) -> UUID:
    """Queue ``event_type`` for delivery once the request commits; returns the event id."""
    event_id = uuid7()
    ctx.outbox_entries.append(
        OutboxEntry(
            id=event_id, type=event_type, data=to_jsonable(data), district_code=district_code
        )
    )
    return event_id


def fold(ctx: Ctx, args: list[Any], *, guard: str) -> str:
    """CTEs that write the request's queued audit entries and events from inside another
    statement, only if the CTE named ``guard`` returned a row; their parameters are appended to
    ``args``. For endpoints whose whole effect is one statement (no transaction block): the
    change, its audit trail and its events then commit or fail together."""
    audit = ctx.audit_entries
    events = ctx.outbox_entries
    principal = ctx.principal

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    ctes = []
    if audit:
        ctes.append(
            f"""folded_audit AS (
    INSERT INTO audit_events
        (occurred_at, actor_key_id, actor_role, actor_subject, action, entity_type, entity_id,
         before, after, request_id)
    SELECT {param(ctx.now)}, {param(principal.key_id)}, {param(principal.role.value)},
           {param(principal.subject)}, a.action, a.entity_type, a.entity_id,
           a.before::jsonb, a.after::jsonb, {param(ctx.request_id)}
    FROM unnest({param([a.action for a in audit])}::text[],
                {param([a.entity_type for a in audit])}::text[],
                {param([a.entity_id for a in audit])}::text[],
                {param([None if a.before is None else dumps_str(a.before) for a in audit])}::text[],
                {param([None if a.after is None else dumps_str(a.after) for a in audit])}::text[])
         AS a(action, entity_type, entity_id, before, after)
    WHERE EXISTS (SELECT 1 FROM {guard})
)"""
        )
    if events:
        ctes.append(
            f"""folded_outbox AS (
    INSERT INTO outbox_events (id, type, occurred_at, district_code, data)
    SELECT e.id, e.type, {param(ctx.now)}, e.district_code, e.data::jsonb
    FROM unnest({param([e.id for e in events])}::uuid[], {param([e.type for e in events])}::text[],
                {param([e.district_code for e in events])}::text[],
                {param([dumps_str(e.data) for e in events])}::text[])
         AS e(id, type, district_code, data)
    WHERE EXISTS (SELECT 1 FROM {guard})
)"""
        )
    audit.clear()
    events.clear()
    return ",\n".join(ctes)


def has_pending(ctx: Ctx) -> bool:
    return bool(ctx.audit_entries or ctx.outbox_entries)


async def flush(ctx: Ctx, stored_response: tuple[Any, ...] | None = None) -> None:
    """Write what the request queued; one statement, or none when nothing is queued."""
    if not ctx.audit_entries and not ctx.outbox_entries and stored_response is None:
        return
    audit = ctx.audit_entries
    events = ctx.outbox_entries
    principal = ctx.principal
    args: list[Any] = [
        ctx.now,
        principal.key_id,
        principal.role.value,
        principal.subject,
        ctx.request_id,
        [a.action for a in audit],
        [a.entity_type for a in audit],
        [a.entity_id for a in audit],
        [None if a.before is None else dumps_str(a.before) for a in audit],
        [None if a.after is None else dumps_str(a.after) for a in audit],
        [e.id for e in events],
        [e.type for e in events],
        [e.district_code for e in events],
        [dumps_str(e.data) for e in events],
    ]
    if stored_response is None:
        await ctx.db.execute(FLUSH_SQL, *args)
    else:
        await ctx.db.execute(FLUSH_WITH_RESPONSE_SQL, *args, *stored_response)
    audit.clear()
    events.clear()
