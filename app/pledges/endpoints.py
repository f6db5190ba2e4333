from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Response

from app.core.concurrency import set_etag
from app.core.errors import InvalidStateTransition, NotFound, PreconditionFailed, problems
from app.core.ids import PathId
from app.core.roles import BANK_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.models.pledge import PledgeStateLiteral
from app.pledges import service
from app.pledges.schemas import PledgeOut, RegistrationBody, ReleaseBody

router = ApiRouter(prefix="/v1/pledges", tags=["pledges"])
_MOVE = problems(NotFound, InvalidStateTransition, PreconditionFailed)


@router.get("", response_model=Page[PledgeOut], responses=problems(NotFound))
@access(BANK_ROLES)
async def list_pledges(
    ctx: CtxDep,
    ip_asset_id: UUID | None = None,
    application_id: UUID | None = None,
    state: PledgeStateLiteral | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[PledgeOut]:
    """Pledges newest first; a relationship manager sees those of their own applications."""
    return await service.list_pledges(
        ctx,
        ip_asset_id=ip_asset_id,
        application_id=application_id,
        state=state,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{pledge_id}", response_model=PledgeOut, responses=problems(NotFound))
@access(BANK_ROLES, etag=True)
async def get_pledge(pledge_id: PathId, ctx: CtxDep, response: Response) -> PledgeOut:
    out = await service.get_pledge(ctx, pledge_id=pledge_id)
    set_etag(response, out.version)
    return out


@router.post("/{pledge_id}/registration", response_model=PledgeOut, responses=_MOVE)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True)
async def register_pledge(
    pledge_id: PathId, body: RegistrationBody, ctx: CtxDep, response: Response
) -> PledgeOut:
    """Record the pledge's registration with CNIPA: `proposed` → `registered`."""
    out = await service.register(
        ctx,
        pledge_id=pledge_id,
        registration_no=body.registration_no,
        registered_on=body.registered_on,
    )
    set_etag(response, out.version)
    return out


@router.post("/{pledge_id}/release", response_model=PledgeOut, responses=_MOVE)
# In a transaction: the release holds the pledge's application while it checks and moves;
# while the pledge secures an approved application or a live loan only an admin may release it.
@access(Role.CREDIT_OFFICER, Role.ADMIN, if_match=True, etag=True)
async def release_pledge(
    pledge_id: PathId, body: ReleaseBody, ctx: CtxDep, response: Response
) -> PledgeOut:
    """Release a registered pledge (loans release theirs when paid off)."""
    out = await service.release(ctx, pledge_id=pledge_id, reason=body.reason)
    set_etag(response, out.version)
    return out
