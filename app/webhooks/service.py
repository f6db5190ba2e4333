"""Webhook endpoints and events, as admins manage them: registration with a secret shown once,
rotation with a 24-hour overlap, disabling and enabling, delivery history, redelivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from app.core import audit
from app.core.concurrency import if_match_versions
from app.core.context import Ctx
from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from app.core.ids import uuid7
from app.core.schemas import Page, decode_cursor, decode_int_cursor, encode_cursor, paged
from app.models.webhook_delivery import DeliveryStatus
from app.webhooks import repository, signing, urls
from app.webhooks.events import KNOWN, WITHOUT_DISTRICT
from app.webhooks.schemas import (
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointOut,
    WebhookEndpointWithSecret,
    WebhookEventOut,
)

ROTATION_OVERLAP = timedelta(hours=24)
ADMIN_DISABLED = "disabled by an administrator"


def _endpoint(row: asyncpg.Record) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(dict(row))


def _snapshot(endpoint: WebhookEndpointOut) -> dict[str, Any]:
    return endpoint.model_dump(mode="json")


async def _check_url(ctx: Ctx, url: str) -> str:
    try:
        await urls.destination(urls.parse(url), allow_private=ctx.settings.webhooks_allow_private)
    except urls.UnsafeUrl as exc:
        raise ValidationFailed(
            f"this URL may not receive webhooks: {exc}",
            errors=[field_error(["body", "url"], str(exc))],
        ) from None
    return url


def _check_event_types(event_types: list[str], district_code: str | None) -> list[str]:
    unknown = [t for t in event_types if t not in KNOWN]
    if unknown:
        raise ValidationFailed(
            "unknown event types: " + ", ".join(unknown),
            errors=[
                field_error(["body", "event_types", i], f"unknown event type {t!r}")
                for i, t in enumerate(event_types)
                if t not in KNOWN
            ],
        )
    unreachable = [t for t in event_types if t in WITHOUT_DISTRICT]
    if district_code is not None and unreachable:
        raise ValidationFailed(
            f"{', '.join(unreachable)} are about no one district: an endpoint bound to "
            f"district {district_code} would never receive them",
            errors=[
                field_error(["body", "event_types", i], "not sent to a district's endpoint")
                for i, t in enumerate(event_types)
                if t in WITHOUT_DISTRICT
            ],
        )
    return list(dict.fromkeys(event_types))


async def create_endpoint(
    ctx: Ctx, *, url: str, event_types: list[str], district_code: str | None
) -> WebhookEndpointWithSecret:
    event_types = _check_event_types(event_types, district_code)
    if district_code is not None and not await repository.district_exists(ctx.db, district_code):
        raise ValidationFailed(
            f"unknown district code {district_code}",
            errors=[field_error(["body", "district_code"], "unknown district code")],
        )
    url = await _check_url(ctx, url)
    secret = signing.new_secret()
    row = await repository.insert_endpoint(
        ctx.db,
        endpoint_id=uuid7(),
        url=url,
        event_types=event_types,
        district_code=district_code,
        secret=secret,
        at=ctx.now,
        created_by=ctx.principal.key_id,
    )
    endpoint = _endpoint(row)
    audit.record(
        ctx,
        action="webhook_endpoint.created",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        after=_snapshot(endpoint),
    )
    return WebhookEndpointWithSecret(**endpoint.model_dump(), secret=secret)


async def get_endpoint(ctx: Ctx, *, endpoint_id: UUID) -> WebhookEndpointOut:
    row = await repository.get_endpoint(ctx.db, endpoint_id)
    if row is None:
        raise NotFound("no such webhook endpoint")
    return _endpoint(row)


async def list_endpoints(
    ctx: Ctx, *, enabled: bool | None, cursor: str | None, limit: int
) -> Page[WebhookEndpointOut]:
    rows = await repository.page_endpoints(
        ctx.db, before=decode_cursor(cursor), enabled=enabled, limit=limit + 1
    )
    return paged(rows, limit, _endpoint)


async def _missed(ctx: Ctx, endpoint_id: UUID, version: list[int] | None) -> WebhookEndpointOut:
    """After a conditional update matched nothing: say why (404, 412), or return the endpoint
    as it is when it was already in the state asked for."""
    current = await get_endpoint(ctx, endpoint_id=endpoint_id)
    if version is not None and current.version not in version:
        raise PreconditionFailed(f"the endpoint is at version {current.version}")
    return current


async def rotate_secret(ctx: Ctx, *, endpoint_id: UUID) -> WebhookEndpointWithSecret:
    version = if_match_versions(ctx)
    secret = signing.new_secret()
    row = await repository.rotate_secret(
        ctx.db,
        endpoint_id=endpoint_id,
        secret=secret,
        at=ctx.now,
        keep_until=ctx.now + ROTATION_OVERLAP,
        version=version,
    )
    if row is None:
        await _missed(ctx, endpoint_id, version)
        raise ConcurrentUpdate("the endpoint changed while its secret was rotated")
    endpoint = _endpoint(row)
    audit.record(
        ctx,
        action="webhook_endpoint.secret_rotated",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        before={"version": endpoint.version - 1},
        after={
            "version": endpoint.version,
            "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        },
    )
    return WebhookEndpointWithSecret(**endpoint.model_dump(), secret=secret)


async def disable_endpoint(
    ctx: Ctx, *, endpoint_id: UUID, reason: str | None = None
) -> WebhookEndpointOut:
    """Stop sending to the endpoint. What it still had to receive fails (admins can redeliver
    it once the endpoint is enabled again)."""
    version = if_match_versions(ctx)
    row = await repository.disable(
        ctx.db,
        endpoint_id=endpoint_id,
        reason=reason or ADMIN_DISABLED,
        at=ctx.now,
        version=version,
    )
    if row is None:
        return await _missed(ctx, endpoint_id, version)
    endpoint = _endpoint(row)
    audit.record(
        ctx,
        action="webhook_endpoint.disabled",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        before={"enabled": True, "disabled_reason": None},
        after={"enabled": False, "disabled_reason": endpoint.disabled_reason},
    )
    return endpoint


async def enable_endpoint(ctx: Ctx, *, endpoint_id: UUID) -> WebhookEndpointOut:
    version = if_match_versions(ctx)
    before = await get_endpoint(ctx, endpoint_id=endpoint_id)
    row = await repository.enable(ctx.db, endpoint_id=endpoint_id, at=ctx.now, version=version)
    if row is None:
        return await _missed(ctx, endpoint_id, version)
    endpoint = _endpoint(row)
    audit.record(
        ctx,
        action="webhook_endpoint.enabled",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        before={"enabled": False, "disabled_reason": before.disabled_reason},
        after={"enabled": True, "disabled_reason": None},
    )
    return endpoint


async def list_attempts(
    ctx: Ctx, *, endpoint_id: UUID, cursor: str | None, limit: int
) -> Page[WebhookAttemptOut]:
    await get_endpoint(ctx, endpoint_id=endpoint_id)
    rows = await repository.page_attempts(
        ctx.db, endpoint_id=endpoint_id, before=decode_int_cursor(cursor), limit=limit + 1
    )
    items = [WebhookAttemptOut(**{**dict(r), "id": str(r["id"])}) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page[WebhookAttemptOut](items=items, next_cursor=next_cursor)


def _event(row: asyncpg.Record) -> WebhookEventOut:
    if row["failed"]:
        status = DeliveryStatus.FAILED
    elif row["dispatched_at"] is None or row["pending"]:
        status = DeliveryStatus.PENDING
    else:
        status = DeliveryStatus.DELIVERED
    return WebhookEventOut(
        id=row["id"],
        type=row["type"],
        occurred_at=row["occurred_at"],
        created_at=row["occurred_at"],
        district_code=row["district_code"],
        data=row["data"],
        status=status,
        deliveries=[WebhookDeliveryOut.model_validate(d) for d in row["deliveries"]],
    )


async def list_events(
    ctx: Ctx, *, status: str | None, event_type: str | None, cursor: str | None, limit: int
) -> Page[WebhookEventOut]:
    rows = await repository.page_events(
        ctx.db,
        status=status,
        event_type=event_type,
        before=decode_cursor(cursor),
        limit=limit + 1,
    )
    return paged(rows, limit, _event)


async def redeliver_event(ctx: Ctx, *, event_id: UUID) -> WebhookEventOut:
    """Send a failed event again, from the start of the retry schedule, to every enabled
    endpoint it failed for. The receiver sees the same ``webhook-id``."""
    result = await repository.redeliver(ctx.db, event_id=event_id, at=ctx.now)
    if not result["found"]:
        raise NotFound("no such webhook event")
    if not result["reset"]:
        if result["failed"]:
            raise InvalidStateTransition(
                "every endpoint this event failed for is disabled; enable one first"
            )
        raise InvalidStateTransition("only a failed event can be redelivered")
    row = await repository.get_event(ctx.db, event_id)
    event = _event(row)
    audit.record(
        ctx,
        action="webhook_event.redelivered",
        entity_type="webhook_event",
        entity_id=event_id,
        before={"status": DeliveryStatus.FAILED},
        after={"status": event.status, "deliveries_reset": result["reset"]},
    )
    return event
