from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, Response

from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    problems,
)
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.models.webhook_delivery import DeliveryStatus
from app.webhooks import service
from app.webhooks.schemas import (
    WebhookAttemptOut,
    WebhookEndpointCreate,
    WebhookEndpointDisable,
    WebhookEndpointOut,
    WebhookEndpointWithSecret,
    WebhookEventOut,
)

router = ApiRouter(prefix="/v1", tags=["webhooks"])


def _etag(response: Response, endpoint: WebhookEndpointOut) -> None:
    response.headers["ETag"] = f'"{endpoint.version}"'


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    responses=problems(),
)
@access(Role.ADMIN, etag=True, location=True, shown_once=("secret",))
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, ctx: CtxDep, response: Response
) -> WebhookEndpointWithSecret:
    """Register an endpoint. Its signing secret is in this response only."""
    endpoint = await service.create_endpoint(
        ctx, url=body.url, event_types=body.event_types, district_code=body.district_code
    )
    _etag(response, endpoint)
    response.headers["Location"] = f"/v1/webhook-endpoints/{endpoint.id}"
    return endpoint


@router.get("/webhook-endpoints", response_model=Page[WebhookEndpointOut], responses=problems())
@access(Role.ADMIN)
async def list_webhook_endpoints(
    ctx: CtxDep,
    enabled: bool | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[WebhookEndpointOut]:
    return await service.list_endpoints(ctx, enabled=enabled, cursor=cursor, limit=limit)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointOut,
    responses=problems(NotFound),
)
@access(Role.ADMIN, etag=True)
async def get_webhook_endpoint(
    endpoint_id: PathId, ctx: CtxDep, response: Response
) -> WebhookEndpointOut:
    endpoint = await service.get_endpoint(ctx, endpoint_id=endpoint_id)
    _etag(response, endpoint)
    return endpoint


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    responses=problems(NotFound, PreconditionFailed, ConcurrentUpdate),
)
@access(Role.ADMIN, if_match=True, etag=True, shown_once=("secret",))
async def rotate_webhook_secret(
    endpoint_id: PathId, ctx: CtxDep, response: Response
) -> WebhookEndpointWithSecret:
    """A new secret, in this response only. For 24 hours the previous one signs too: each
    delivery carries both signatures, so receivers can switch over at their own pace."""
    endpoint = await service.rotate_secret(ctx, endpoint_id=endpoint_id)
    _etag(response, endpoint)
    return endpoint


@router.post(
    "/webhook-endpoints/{endpoint_id}/disable",
    response_model=WebhookEndpointOut,
    responses=problems(NotFound, PreconditionFailed),
)
@access(Role.ADMIN, if_match=True, etag=True)
async def disable_webhook_endpoint(
    endpoint_id: PathId,
    ctx: CtxDep,
    response: Response,
    body: Annotated[WebhookEndpointDisable | None, Body()] = None,
) -> WebhookEndpointOut:
    """Stop sending. Deliveries still pending for it fail (redeliver them after enabling)."""
    endpoint = await service.disable_endpoint(
        ctx,
        endpoint_id=endpoint_id,
        reason=body.reason if body is not None else None,
    )
    _etag(response, endpoint)
    return endpoint


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    response_model=WebhookEndpointOut,
    responses=problems(NotFound, PreconditionFailed),
)
@access(Role.ADMIN, if_match=True, etag=True)
async def enable_webhook_endpoint(
    endpoint_id: PathId, ctx: CtxDep, response: Response
) -> WebhookEndpointOut:
    """Send again: events from now on. Earlier failed events come back by redelivery."""
    endpoint = await service.enable_endpoint(ctx, endpoint_id=endpoint_id)
    _etag(response, endpoint)
    return endpoint


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[WebhookAttemptOut],
    responses=problems(NotFound),
)
@access(Role.ADMIN)
async def list_webhook_deliveries(
    endpoint_id: PathId,
    ctx: CtxDep,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[WebhookAttemptOut]:
    """Every attempt to deliver to this endpoint, newest first."""
    return await service.list_attempts(ctx, endpoint_id=endpoint_id, cursor=cursor, limit=limit)


@router.get("/webhook-events", response_model=Page[WebhookEventOut], responses=problems())
@access(Role.ADMIN)
async def list_webhook_events(
    ctx: CtxDep,
    status: DeliveryStatus | None = None,
    event_type: Annotated[Text | None, Query(alias="type")] = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[WebhookEventOut]:
    """Events and their deliveries, newest first; `status=failed` lists those to redeliver."""
    return await service.list_events(
        ctx,
        status=status.value if status is not None else None,
        event_type=event_type,
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/webhook-events/{event_id}/redeliver",
    response_model=WebhookEventOut,
    responses=problems(NotFound, InvalidStateTransition),
)
@access(Role.ADMIN)
async def redeliver_webhook_event(event_id: PathId, ctx: CtxDep) -> WebhookEventOut:
    """Send a failed event again (same `webhook-id`), from the start of the retry schedule."""
    return await service.redeliver_event(ctx, event_id=event_id)
