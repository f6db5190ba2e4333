from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse

from app.core.concurrency import set_etag
from app.core.context import Ctx
from app.core.errors import InvalidStateTransition, NotFound, PreconditionFailed, problems
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.models.pool import PoolStateLiteral
from app.pools import service, tape
from app.pools.errors import LoanAlreadyPooled, LoanNotEligible, PoolLimitViolated
from app.pools.projection import chart as projection_chart
from app.pools.projection import present as projection_present
from app.pools.projection import service as projection_service
from app.pools.schemas import (
    GridOut,
    PoolCreate,
    PoolLoanAdd,
    PoolOut,
    PoolTransfer,
    ProjectionCreate,
    ProjectionGrid,
    ProjectionOut,
    SelectionOut,
)

router = ApiRouter(prefix="/v1/pools", tags=["pools"])
READERS = (Role.SECURITIZATION, Role.ADMIN)
_CHANGE = (NotFound, InvalidStateTransition, PreconditionFailed)


@router.post("", status_code=201, response_model=PoolOut, responses=problems())
@access(Role.SECURITIZATION, etag=True, location=True)
async def create_pool(body: PoolCreate, ctx: CtxDep, response: Response) -> PoolOut:
    """Open a pool: its cut-off date (today or earlier), target balance, eligibility filters
    and concentration limits (defaults 10% an obligor, 40% an industry, 100% a district)."""
    out = await service.create_pool(ctx, body=body)
    response.headers["Location"] = f"/v1/pools/{out.id}"
    set_etag(response, out.version)
    return out


@router.get("", response_model=Page[PoolOut], responses=problems())
@access(*READERS)
async def list_pools(
    ctx: CtxDep,
    state: PoolStateLiteral | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[PoolOut]:
    """Pools newest first, each with its statistics."""
    return await service.list_pools(ctx, state=state, cursor=cursor, limit=limit)


@router.get("/{pool_id}", response_model=PoolOut, responses=problems(NotFound))
@access(*READERS, etag=True)
async def get_pool(pool_id: PathId, ctx: CtxDep, response: Response) -> PoolOut:
    """The pool with its statistics, from its members' balances at the cut-off."""
    out = await service.get_pool(ctx, pool_id=pool_id)
    set_etag(response, out.version)
    return out


@router.post(
    "/{pool_id}/selection",
    response_model=SelectionOut,
    responses=problems(*_CHANGE, LoanAlreadyPooled),
)
@access(Role.SECURITIZATION, if_match=True, etag=True)
async def select_pool_loans(pool_id: PathId, ctx: CtxDep, response: Response) -> SelectionOut:
    """Fill the open pool automatically: its membership becomes the eligible loans (current
    members included) of the largest total outstanding principal not above the target that
    keeps every obligor, industry and district within its share of that total, so that the
    pool can be locked as selected. Solved as a
    mixed-integer program (HiGHS) within `IPLEDGE_SELECTION_TIME_BUDGET_S`; `bound_balance`
    is the linear relaxation's optimum, which no selection can beat, and `gap` the distance to
    it. When the solver finds nothing better in time, a greedy fill that respects every limit
    is kept and `fallback` says so."""
    out = await service.select_loans(ctx, pool_id=pool_id)
    set_etag(response, out.pool.version)
    return out


@router.post(
    "/{pool_id}/loans",
    response_model=PoolOut,
    responses=problems(*_CHANGE, LoanNotEligible, LoanAlreadyPooled, PoolLimitViolated),
)
@access(Role.SECURITIZATION, if_match=True, etag=True)
async def add_pool_loan(
    pool_id: PathId, body: PoolLoanAdd, ctx: CtxDep, response: Response
) -> PoolOut:
    """Add one eligible loan to an open pool. Refused (409 `pool-limit-violated`) when the pool
    would exceed its target, or an obligor, industry or district its share of the target."""
    out = await service.add_loan(ctx, pool_id=pool_id, loan_id=body.loan_id)
    set_etag(response, out.version)
    return out


@router.delete("/{pool_id}/loans/{loan_id}", response_model=PoolOut, responses=problems(*_CHANGE))
@access(Role.SECURITIZATION, if_match=True, etag=True)
async def remove_pool_loan(
    pool_id: PathId, loan_id: PathId, ctx: CtxDep, response: Response
) -> PoolOut:
    """Take a loan out of an open pool."""
    out = await service.remove_loan(ctx, pool_id=pool_id, loan_id=loan_id)
    set_etag(response, out.version)
    return out


@router.post(
    "/{pool_id}/lock",
    response_model=PoolOut,
    responses=problems(*_CHANGE, LoanNotEligible, PoolLimitViolated),
)
@access(Role.SECURITIZATION, if_match=True, etag=True)
async def lock_pool(pool_id: PathId, ctx: CtxDep, response: Response) -> PoolOut:
    """Freeze the pool's membership and its members' cut-off balances. Every member is checked
    again, and every share is measured against the pool's actual outstanding principal: a pool
    that breaks a limit is refused (409 `pool-limit-violated`)."""
    out = await service.lock_pool(ctx, pool_id=pool_id)
    set_etag(response, out.version)
    return out


@router.post("/{pool_id}/transfer", response_model=PoolOut, responses=problems(*_CHANGE))
@access(Role.SECURITIZATION, if_match=True, etag=True)
async def transfer_pool(
    pool_id: PathId, body: PoolTransfer, ctx: CtxDep, response: Response
) -> PoolOut:
    """Transfer a locked pool to its special purpose vehicle: its loans are marked securitised
    (`securitized_on`) and serviced on as before."""
    out = await service.transfer_pool(
        ctx,
        pool_id=pool_id,
        spv_name=body.spv_name,
        transfer_date=body.transfer_date,
    )
    set_etag(response, out.version)
    return out


@router.get(
    "/{pool_id}/tape",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The loan-level data tape: UTF-8 CSV with a header row, one row a "
            "loan (docs/data-tape.md documents each column). A cell a spreadsheet would read "
            "as a formula (starting with =, +, -, @, a tab or a carriage return) is written "
            "with a leading '. A locked or transferred pool's tape never changes.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "X-Tape-Rows": {
                    "description": "The pool's member count when the export began: the data "
                    "rows to expect (exact for a locked pool), to tell a download cut short.",
                    "schema": {"type": "integer", "minimum": 0},
                }
            },
        },
        **problems(NotFound),
    },
)
@access(*READERS, streams=True)
async def export_pool_tape(pool_id: PathId, request: Request) -> StreamingResponse:
    """Stream the pool's data tape as CSV, in constant memory whatever the pool's size."""
    state = request.app.state
    async with state.database.connection() as db:
        ctx = Ctx(
            db=db,
            principal=request.state.principal,
            now=state.clock.now(),
            settings=state.settings,
            request_id=request.scope.get("ipledge.request_id", "-"),
        )
        pool = await service.check_pool(ctx, pool_id=pool_id)
    filename = f"tape-{pool_id}-{pool.cut_off_date.isoformat()}.csv"
    slots = getattr(state, "tape_slots", None)
    if slots is None:  # one per process: the app's state lives as long as the process
        slots = state.tape_slots = asyncio.Semaphore(state.settings.tape_concurrency)
    body = tape.stream(
        state.database,
        slots=slots,
        pool_id=pool_id,
        cut_off=pool.cut_off_date,
        # A locked pool's valuations as they stood at its lock; an open pool's as they are.
        as_of=pool.locked_at or ctx.now,
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            # The rows to expect, so that a consumer can tell a download cut short. Exact for
            # a locked pool, whose membership is frozen.
            "X-Tape-Rows": str(pool.loan_count),
        },
    )


# --- projections (SPEC 3.9a) ----------------------------------------------------------------

_CSV = "text/csv"
_PROJECTION_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The projection; with `Accept: text/csv`, its monthly rows as CSV (a "
        "header row, then one line a month: the pool's columns, then each tranche's as "
        "`<name>_<column>`).",
        "content": {_CSV: {"schema": {"type": "string"}}},
    },
}


def _wants_csv(request: Request) -> bool:
    """CSV when the caller's Accept names text/csv ahead of (or without) JSON."""
    accept = request.headers.get("accept", "")
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if _CSV not in kinds:
        return False
    return "application/json" not in kinds or kinds.index(_CSV) < kinds.index("application/json")


def _representation(request: Request) -> str:
    """The representation a projection request asks for: what a replay of its Idempotency-Key
    must match."""
    return _CSV if _wants_csv(request) else "application/json"


def _present(request: Request, out: ProjectionOut, status: int) -> Response | ProjectionOut:
    if _wants_csv(request):
        return Response(
            projection_present.to_csv(out.rows),
            status_code=status,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="projection-{out.id}.csv"',
            },
        )
    return out


@router.post(
    "/{pool_id}/projections",
    status_code=201,
    response_model=ProjectionOut,
    responses={201: _PROJECTION_CONTENT[200], **problems(NotFound)},
)
@access(Role.SECURITIZATION, variant=_representation, etag=True, location=True)
async def create_pool_projection(
    pool_id: PathId, body: ProjectionCreate, ctx: CtxDep, request: Request, response: Response
) -> Response | ProjectionOut:
    """Project the pool's monthly cash flows under a scenario (CPR, CDR, recovery rate and lag)
    and a structure (tranches senior first, fees), from its cut-off balances and its loans'
    schedules after the cut-off (an open pool: its current members). The answer is stored:
    read it again by its `id`. With `breakeven`, also the smallest CDR at which the senior
    tranche loses principal. Conventions: docs/projections.md."""
    out = await projection_service.create_projection(ctx, pool_id=pool_id, body=body)
    response.headers["Location"] = f"/v1/pools/{out.pool_id}/projections/{out.id}"
    set_etag(response, out.version)
    presented = _present(request, out, 201)
    if isinstance(presented, Response):
        presented.headers["Location"] = response.headers["Location"]
    return presented


@router.get(
    "/{pool_id}/projections/{projection_id}",
    response_model=ProjectionOut,
    responses={**_PROJECTION_CONTENT, **problems(NotFound)},
)
@access(*READERS, etag=True)
async def get_pool_projection(
    pool_id: PathId, projection_id: PathId, ctx: CtxDep, request: Request, response: Response
) -> Response | ProjectionOut:
    """A stored projection, exactly as first answered; its monthly rows as CSV with
    `Accept: text/csv`."""
    out = await projection_service.get_projection(
        ctx,
        pool_id=pool_id,
        projection_id=projection_id,
    )
    set_etag(response, out.version)
    return _present(request, out, 200)


# An SVG opened in a browser may run script: the chart never holds any (its text is escaped),
# and these say so to the browser too, so that no text a caller wrote can ever become active.
_DRAWING_ONLY = {
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}


@router.get(
    "/{pool_id}/projections/{projection_id}/chart.svg",
    response_class=Response,
    responses={
        200: {
            "description": "Each tranche's balance over time and the pool's monthly "
            "collections, as SVG.",
            "content": {"image/svg+xml": {"schema": {"type": "string"}}},
        },
        **problems(NotFound),
    },
)
@access(*READERS)
async def get_pool_projection_chart(
    pool_id: PathId, projection_id: PathId, ctx: CtxDep
) -> Response:
    """The stored projection drawn: tranche balances over time and pool collections."""
    out = await projection_service.get_projection(
        ctx,
        pool_id=pool_id,
        projection_id=projection_id,
    )
    image = await asyncio.to_thread(projection_chart.svg, out)
    return Response(image, media_type="image/svg+xml", headers=_DRAWING_ONLY)


@router.post("/{pool_id}/projection-grid", response_model=GridOut, responses=problems(NotFound))
@access(Role.SECURITIZATION)
async def project_pool_grid(pool_id: PathId, body: ProjectionGrid, ctx: CtxDep) -> GridOut:
    """Every CPR × CDR pair of the lists (at most 10 × 10) under one structure: each
    tranche's loss, WAL and unpaid interest per pair. Computed, not stored."""
    return await projection_service.projection_grid(ctx, pool_id=pool_id, body=body)
