"""The outbox: domain events written in the same transaction as the change they report.

``emit()`` queues an event on the request, as ``app.core.audit.record`` queues an audit entry;
``flush()`` writes everything queued, and (for an Idempotency-Key) the stored response, in a
single statement inside the request's transaction, just before commit. A change that rolls
back therefore emits nothing, and one that commits cannot lose its event. The rows are
rendered by ``app.core.journal``, the one writer of both tables. The webhook relay delivers
from the table.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.core import journal
from app.core.context import Ctx
from app.core.ids import uuid7
from app.core.jsonutil import to_jsonable

_STORE_RESPONSE = """
INSERT INTO idempotency_records
    (api_key_id, idempotency_key, request_hash, status_code, headers, body, created_at)
VALUES ({}, {}, {}, {}, {}::jsonb, {}, {})
ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
    headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = EXCLUDED.created_at
"""


def actor(ctx: Ctx) -> journal.Actor:
    principal = ctx.principal
    return journal.Actor(
        at=ctx.now,
        key_id=principal.key_id,
        role=principal.role.value,
        subject=principal.subject,
        request_id=ctx.request_id,
    )


def emit(
    ctx: Ctx, event_type: str, data: dict[str, Any], *, district_code: str | None = None
) -> UUID:
    """Queue ``event_type`` for delivery once the request commits; returns the event id."""
    event_id = uuid7()
    ctx.events.append(
        journal.Event(
            type=event_type, data=to_jsonable(data), district_code=district_code, id=event_id
        )
    )
    return event_id


def has_pending(ctx: Ctx) -> bool:
    return bool(ctx.audit_entries or ctx.events)


def take(ctx: Ctx) -> tuple[list[journal.AuditEntry], list[journal.Event]]:
    """What the request queued so far, no longer queued: for a statement that writes it."""
    audit, events = list(ctx.audit_entries), list(ctx.events)
    ctx.audit_entries.clear()
    ctx.events.clear()
    return audit, events


def fold(ctx: Ctx, args: list[Any], *, guard: str) -> str:
    """CTEs that write the request's queued entries from inside another statement, once if the
    CTE named ``guard`` returned a row; their parameters are appended to ``args`` and numbered
    from ``$1`` (the caller places them after its own)."""
    audit, events = take(ctx)
    params = journal.Params()
    ctes = journal.render(
        params,
        actor(ctx),
        audit,
        events,
        source=f"(SELECT FROM {guard} LIMIT 1) AS g",
        name="folded",
    )
    args.extend(params.values)
    return ",\n".join(ctes)


async def flush(ctx: Ctx, stored_response: tuple[Any, ...] | None = None) -> None:
    """Write what the request queued; one statement, or none when nothing is queued."""
    if not has_pending(ctx) and stored_response is None:
        return
    audit, events = take(ctx)
    params = journal.Params()
    ctes = journal.render(params, actor(ctx), audit, events)
    if stored_response is None:
        sql = journal.with_clause(ctes) + "SELECT 1"
    else:
        placeholders = [params.add(value) for value in (*stored_response, ctx.now)]
        sql = journal.with_clause(ctes) + _STORE_RESPONSE.format(*placeholders)
    await ctx.db.execute(sql, *params.values)
