from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Response

from app.core.concurrency import set_etag
from app.core.errors import InvalidStateTransition, NotFound, PreconditionFailed, problems
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.models.subsidy_claim import ClaimStateLiteral
from app.subsidies import service
from app.subsidies.schemas import (
    ClaimDecision,
    ClaimOut,
    ClaimPayment,
    ProgramCreate,
    ProgramKind,
    ProgramOut,
)

router = ApiRouter(tags=["subsidies"])
_MOVE = problems(NotFound, InvalidStateTransition, PreconditionFailed)


@router.post(
    "/v1/subsidy-programs", status_code=201, response_model=ProgramOut, responses=problems()
)
@access(Role.ADMIN, location=True)
async def create_subsidy_program(
    body: ProgramCreate, ctx: CtxDep, response: Response
) -> ProgramOut:
    """Define a district programme: its share, caps, annual budget and period are data."""
    program = await service.create_program(ctx, body=body)
    response.headers["Location"] = f"/v1/subsidy-programs/{program.id}"
    return program


@router.get("/v1/subsidy-programs", response_model=Page[ProgramOut], responses=problems())
@access(Role.ADMIN, Role.DISTRICT_BUREAU)
async def list_subsidy_programs(
    ctx: CtxDep,
    district_code: Annotated[Text | None, Query(pattern=r"^[0-9]{6}$")] = None,
    kind: ProgramKind | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[ProgramOut]:
    """Programmes newest first; a bureau sees its own district's."""
    return await service.list_programs(
        ctx, district_code=district_code, kind=kind, cursor=cursor, limit=limit
    )


@router.get(
    "/v1/subsidy-programs/{program_id}", response_model=ProgramOut, responses=problems(NotFound)
)
@access(Role.ADMIN, Role.DISTRICT_BUREAU, etag=True)
async def get_subsidy_program(program_id: PathId, ctx: CtxDep, response: Response) -> ProgramOut:
    """The programme with what its claims have committed so far; its `version` (and `ETag`)
    moves whenever that changes."""
    out = await service.get_program(ctx, program_id=program_id)
    set_etag(response, out.version)
    return out


@router.get("/v1/subsidy-claims", response_model=Page[ClaimOut], responses=problems(NotFound))
@access(Role.ADMIN, Role.DISTRICT_BUREAU)
async def list_subsidy_claims(
    ctx: CtxDep,
    program_id: UUID | None = None,
    state: ClaimStateLiteral | None = None,
    kind: ProgramKind | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[ClaimOut]:
    """Claims newest first; a bureau sees its own district's."""
    return await service.list_claims(
        ctx,
        program_id=program_id,
        state=state,
        kind=kind,
        cursor=cursor,
        limit=limit,
    )


@router.get("/v1/subsidy-claims/{claim_id}", response_model=ClaimOut, responses=problems(NotFound))
@access(Role.ADMIN, Role.DISTRICT_BUREAU, etag=True)
async def get_subsidy_claim(claim_id: PathId, ctx: CtxDep, response: Response) -> ClaimOut:
    out = await service.get_claim(ctx, claim_id=claim_id)
    set_etag(response, out.version)
    return out


@router.post("/v1/subsidy-claims/{claim_id}/decision", response_model=ClaimOut, responses=_MOVE)
@access(Role.DISTRICT_BUREAU, if_match=True, etag=True)
async def decide_subsidy_claim(
    claim_id: PathId, body: ClaimDecision, ctx: CtxDep, response: Response
) -> ClaimOut:
    """Approve or reject a pending claim; a rejection gives its amount back to the budget."""
    out = await service.decide_claim(
        ctx, claim_id=claim_id, outcome=body.outcome, reason=body.reason
    )
    set_etag(response, out.version)
    return out


@router.post("/v1/subsidy-claims/{claim_id}/payment", response_model=ClaimOut, responses=_MOVE)
@access(Role.DISTRICT_BUREAU, if_match=True, etag=True)
async def pay_subsidy_claim(
    claim_id: PathId, body: ClaimPayment, ctx: CtxDep, response: Response
) -> ClaimOut:
    """Record the payment of an approved claim, dated neither in the future nor before the
    claim's basis date (the interest payment or default it is for)."""
    out = await service.pay_claim(ctx, claim_id=claim_id, paid_on=body.paid_on)
    set_etag(response, out.version)
    return out
