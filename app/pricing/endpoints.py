from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    problems,
)
from app.core.ids import PathId
from app.core.roles import BANK_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import IsoDate, Limit, Page
from app.core.types import Text
from app.pricing import service
from app.pricing.errors import LprUnavailable
from app.pricing.schemas import LprFixingIn, LprFixingOut, QuoteIn, QuoteOut

router = ApiRouter(prefix="/v1", tags=["pricing"])


@router.put(
    "/lpr/{fixing_date}",
    response_model=LprFixingOut,
    responses={
        201: {"model": LprFixingOut, "description": "The date had no fixing: recorded."},
        **problems(PreconditionFailed, ConcurrentUpdate),
    },
)
@access(Role.ADMIN, if_match=True, etag=True)
async def put_lpr_fixing(
    fixing_date: IsoDate, body: LprFixingIn, ctx: CtxDep, response: Response
) -> LprFixingOut:
    """Record the Loan Prime Rate fixing announced for a date (201), or correct it (200;
    the same figures again change nothing). A date after today is refused (422): fixings are
    recorded once announced. Honours `If-Match`."""
    fixing, created = await service.put_lpr(
        ctx,
        fixing_date=fixing_date,
        one_year_bp=body.one_year_bp,
        five_year_bp=body.five_year_bp,
    )
    if created:
        response.status_code = 201
    response.headers["ETag"] = f'"{fixing.version}"'
    return fixing


@router.get("/lpr", response_model=Page[LprFixingOut], responses=problems(LprUnavailable))
@access(BANK_ROLES)
async def list_lpr_fixings(
    ctx: CtxDep,
    on: Annotated[
        IsoDate | None,
        Query(description="Only the fixing in force on this date (the latest on or before it)."),
    ] = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[LprFixingOut]:
    """LPR fixings, newest first; with `on`, the one in force that day (409 when none is)."""
    return await service.list_lpr(ctx, on=on, cursor=cursor, limit=limit)


@router.post(
    "/applications/{application_id}/quotes",
    status_code=201,
    response_model=QuoteOut,
    responses=problems(NotFound, InvalidStateTransition, LprUnavailable),
)
# The quote and its audit event are one statement: no transaction block needed.
@access(Role.CREDIT_OFFICER, transactional=False)
async def create_quote(
    application_id: PathId, ctx: CtxDep, body: QuoteIn | None = None
) -> QuoteOut:
    """Price an application off the LPR in force on the quote date and keep the quote, with
    every discount component and the facts it rests on. Submitted, under-review and
    awaiting-information applications only."""
    body = body or QuoteIn()
    return await service.create_quote(
        ctx,
        application_id=application_id,
        spread_bp=body.spread_bp,
        quote_date=body.quote_date,
        amount=body.amount,
    )


@router.get(
    "/applications/{application_id}/quotes",
    response_model=Page[QuoteOut],
    responses=problems(NotFound),
)
@access(Role.CREDIT_OFFICER, Role.ADMIN)
async def list_quotes(
    application_id: PathId,
    ctx: CtxDep,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[QuoteOut]:
    """The application's quotes, newest first."""
    return await service.list_quotes(ctx, application_id=application_id, cursor=cursor, limit=limit)
