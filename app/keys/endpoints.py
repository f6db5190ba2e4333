from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request

from app.core.errors import NotFound, problems
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.keys import service
from app.keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut

router = ApiRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=problems())
@access(Role.ADMIN, shown_once=("key",))
async def create_api_key(body: ApiKeyCreate, ctx: CtxDep) -> ApiKeyCreated:
    """Issue a key for a role (and subject). The key is in this response only."""
    return await service.create_key(ctx, role=body.role, subject=body.subject, name=body.name)


@router.get("", response_model=Page[ApiKeyOut], responses=problems())
@access(Role.ADMIN)
async def list_api_keys(
    ctx: CtxDep, cursor: Text | None = None, limit: Annotated[Limit, Query()] = 50
) -> Page[ApiKeyOut]:
    return await service.list_keys(ctx, cursor=cursor, limit=limit)


@router.post("/{key_id}/revoke", response_model=ApiKeyOut, responses=problems(NotFound))
@access(Role.ADMIN)
async def revoke_api_key(key_id: PathId, ctx: CtxDep, request: Request) -> ApiKeyOut:
    """Revoke a key: every API process refuses it from now on."""
    revoked = await service.revoke_key(ctx, key_id=key_id)
    # This process forgets it now; the others on the NOTIFY sent when this commits.
    request.app.state.keys.forget(revoked.id)
    return revoked
