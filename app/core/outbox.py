"""The outbox: domain events written in the same transaction as the change they report.

``emit()`` queues an event on the request, as ``app.core.audit.record`` queues an audit entry;
``flush()`` writes everything queued, and (for an Idempotency-Key) the stored response, in a
single statement inside the request's transaction, just before commit. A change that rolls
back therefore emits nothing, and one that commits cannot lose its event. The rows are
rendered by ``app.core.journal``, the one writer of both tables. The webhook relay delivers
from the table.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from starlette.responses import Response

from app.core import idempotency, journal
from app.core.context import Ctx
from app.core.errors import IdempotencyRequestInProgress
from app.core.ids import uuid7

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
        signed_in_as=principal.signed_in_as,
    )


def emit(
    ctx: Ctx, event_type: str, data: dict[str, Any], *, district_code: str | None = None
) -> UUID:
    """Queue ``event_type`` for delivery once the request commits; returns the event id.
    ``data`` is written as JSON then (``app.core.jsonutil.snapshot``): pass a value the caller
    no longer changes."""
    event_id = uuid7()
    ctx.events.append(
        journal.Event(type=event_type, data=data, district_code=district_code, id=event_id)
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


class AlreadyAnswered(Exception):
    """The request's Idempotency-Key already has its answer: this response, to send as is."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered before")
        self.response = response


def claim_ctes(
    params: journal.Params,
    ctx: Ctx,
    claim: idempotency.Claim,
    stored: tuple[Any, ...],
    *,
    source: str,
    body: str,
) -> list[str]:
    """For a write that is one statement: the CTEs ``claim_lock`` (the key's advisory lock,
    held while the statement runs; ``locked``) and ``claim`` (the stored response, written
    once per row of ``source``; a row when it was stored). ``stored`` is
    ``idempotency.stored_response`` of the answer; ``body`` the SQL expression of its body
    (the answer's text with what only the statement knows filled in). A live answer of the
    same key already stored makes ``claim`` empty: the statement must then change nothing."""
    key_id, key, request_hash, status_code, headers, _ = stored
    expired = ctx.now - timedelta(hours=ctx.settings.idempotency_ttl_hours)
    lock = params.add(idempotency.lock_id(ctx, claim.key))
    return [
        f"claim_lock AS (SELECT pg_try_advisory_xact_lock({lock}::bigint) AS locked)",
        f"""claim AS (
    INSERT INTO idempotency_records
        (api_key_id, idempotency_key, request_hash, status_code, headers, body, created_at)
    SELECT {params.add(key_id)}::uuid, {params.add(key)}::text, {params.add(request_hash)}::bytea,
           {params.add(status_code)}::int, {params.add(headers)}::jsonb, {body},
           {params.add(ctx.now)}::timestamptz
    FROM {source}
    WHERE (SELECT locked FROM claim_lock)
    ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
        headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = EXCLUDED.created_at
    WHERE idempotency_records.created_at <= {params.add(expired)}::timestamptz
    RETURNING 1
)""",
    ]


async def answer_of_claim(ctx: Ctx, claim: idempotency.Claim) -> AlreadyAnswered:
    """Why a statement's claim stored nothing: the answer stored for the key (to replay), or
    the refusal ``idempotency.begin`` gives (the key used for another request: 422; the first
    request still running: 409)."""
    replay = await idempotency.begin(ctx, claim)
    if replay is None:
        raise IdempotencyRequestInProgress()
    return AlreadyAnswered(replay)
