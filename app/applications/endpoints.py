from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from app.applications import decision, intake, moves, reading, submission, views
from app.applications.domain import Application
from app.applications.errors import IpAssetAlreadyPledged
from app.applications.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationState,
    DecisionBody,
    ReasonBody,
    SubmitBody,
)
from app.applications.sla import FILTERABLE_SLA_STATES, SlaState
from app.core.concurrency import etag
from app.core.context import Ctx
from app.core.errors import (
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    problems,
)
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import IsoDate, Limit, Page
from app.core.types import Text
from app.core.views import JsonView
from app.models.enterprise import Industry
from app.pricing.errors import LprUnavailable

router = ApiRouter(prefix="/v1/applications", tags=["applications"])

INTAKE = (Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER)
READERS = (Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER, Role.CREDIT_OFFICER, Role.ADMIN)
# A Literal built from the one definition of the list, so that OpenAPI lists the values;
# mypy cannot evaluate a Literal built at run time.
SlaFilter = Literal[tuple(s.value for s in FILTERABLE_SLA_STATES)]  # type: ignore[valid-type]


def _answer(app: Application, ctx: Ctx, *, status_code: int = 200, **headers: str) -> JsonView:
    # The view is the body, as of the request's time; ``response_model`` only documents it.
    view = views.application(app, ctx.now)
    return JsonView(view, status_code=status_code, headers={**headers, "ETag": etag(app.version)})


def _created(app: Application, ctx: Ctx) -> JsonView:
    return _answer(app, ctx, status_code=201, Location=f"/v1/applications/{app.id}")


@router.post("", status_code=201, response_model=ApplicationOut, responses=problems())
@access(*INTAKE, transactional=False, claims_in_statement=True, etag=True, location=True)
async def create_application(body: ApplicationCreate, ctx: CtxDep) -> Response:
    """Create an application in `draft`, naming the enterprise and the IP assets it pledges."""
    return await intake.create_application(
        ctx, body=body, claim=ctx.claim, present=lambda draft: _created(draft, ctx)
    )


@router.get("", response_model=Page[ApplicationOut], responses=problems())
@access(*READERS)
async def list_applications(
    ctx: CtxDep,
    state: ApplicationState | None = None,
    sla_state: SlaFilter | None = None,  # type: ignore[valid-type]  # see SlaFilter
    district_code: Annotated[Text | None, Query(pattern=r"^[0-9]{6}$")] = None,
    industry: Industry | None = None,
    relationship_manager_id: Annotated[Text | None, Query(max_length=64)] = None,
    received_from: IsoDate | None = None,
    received_to: IsoDate | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> JsonView:
    """Applications newest first. A relationship manager sees only their own."""
    page = await reading.list_applications(
        ctx,
        state=state,
        sla_state=SlaState(sla_state) if sla_state else None,
        district_code=district_code,
        industry=industry,
        relationship_manager_id=relationship_manager_id,
        received_from=received_from,
        received_to=received_to,
        cursor=cursor,
        limit=limit,
    )
    return JsonView(views.page(page, ctx.now))


@router.get("/{application_id}", response_model=ApplicationOut, responses=problems(NotFound))
@access(*READERS, etag=True)
async def get_application(application_id: PathId, ctx: CtxDep) -> JsonView:
    """The application with its SLA state as of now, its clocks and its pledges."""
    out = await reading.get_application(ctx, application_id=application_id)
    return _answer(out, ctx)


_MOVE_ERRORS = problems(NotFound, InvalidStateTransition, PreconditionFailed)


@router.post(
    "/{application_id}/submit",
    response_model=ApplicationOut,
    responses=problems(NotFound, InvalidStateTransition, PreconditionFailed, IpAssetAlreadyPledged),
)
@access(*INTAKE, transactional=False, if_match=True, etag=True)
async def submit_application(
    application_id: PathId, ctx: CtxDep, body: SubmitBody | None = None
) -> JsonView:
    """Submit (or resubmit after a return): starts the approval clock and proposes a pledge of
    every named asset. An asset already pledged elsewhere fails the whole submission (409)."""
    out = await submission.submit_application(
        ctx,
        application_id=application_id,
        received_at=body.received_at if body else None,
    )
    return _answer(out, ctx)


@router.post("/{application_id}/review", response_model=ApplicationOut, responses=_MOVE_ERRORS)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True)
async def review_application(application_id: PathId, ctx: CtxDep) -> JsonView:
    """Take a submitted application under review (the clock keeps running)."""
    out = await moves.start_review(ctx, application_id=application_id)
    return _answer(out, ctx)


@router.post("/{application_id}/return", response_model=ApplicationOut, responses=_MOVE_ERRORS)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True)
async def return_application(application_id: PathId, body: ReasonBody, ctx: CtxDep) -> JsonView:
    """Return for information: stops the clock; resubmission starts a new one in full."""
    out = await moves.return_for_information(ctx, application_id=application_id, reason=body.reason)
    return _answer(out, ctx)


@router.post("/{application_id}/withdraw", response_model=ApplicationOut, responses=_MOVE_ERRORS)
@access(*INTAKE, if_match=True, etag=True)
async def withdraw_application(application_id: PathId, body: ReasonBody, ctx: CtxDep) -> JsonView:
    """Withdraw: cancels proposed pledges (and releases registered ones of an approved
    application)."""
    out = await moves.withdraw(ctx, application_id=application_id, reason=body.reason)
    return _answer(out, ctx)


@router.post(
    "/{application_id}/decision",
    response_model=ApplicationOut,
    responses=problems(NotFound, InvalidStateTransition, PreconditionFailed, LprUnavailable),
)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True)
async def decide_application(application_id: PathId, body: DecisionBody, ctx: CtxDep) -> JsonView:
    """Approve (locking the rate of the named quote, or of a fresh one) or decline with a
    reason. Stops the clock."""
    out = await decision.decide(ctx, application_id=application_id, body=body)
    return _answer(out, ctx)
