from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from app.core.concurrency import etag
from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problems,
)
from app.core.ids import PathId
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import IsoDate, Limit, Page
from app.core.types import Text
from app.core.views import JsonView
from app.loans import posting, service, views
from app.loans.domain import Loan
from app.loans.errors import (
    DefaultNotAllowed,
    LockedRateBelowZero,
    Overpayment,
    PayoffRequired,
)
from app.loans.schemas import (
    DefaultBody,
    DisbursementBody,
    LoanOut,
    PayoffOut,
    RepaymentBody,
    RepaymentOut,
)
from app.models.loan import LoanStateLiteral
from app.pledges.errors import PledgeNotRegistered

router = ApiRouter(tags=["loans"])
READERS = (
    Role.BANK_SYSTEM,
    Role.RELATIONSHIP_MANAGER,
    Role.CREDIT_OFFICER,
    Role.SECURITIZATION,
    Role.ADMIN,
)


def _answer(loan: Loan, *, status_code: int = 200, **headers: str) -> JsonView:
    # The view is the body; ``response_model`` only documents it.
    view = views.loan(loan)
    return JsonView(view, status_code=status_code, headers={**headers, "ETag": etag(loan.version)})


@router.post(
    "/v1/applications/{application_id}/disbursement",
    status_code=201,
    response_model=LoanOut,
    responses=problems(
        NotFound,
        InvalidStateTransition,
        PreconditionFailed,
        LockedRateBelowZero,
        PledgeNotRegistered,
        ConcurrentUpdate,
    ),
)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True, location=True)
async def disburse_loan(application_id: PathId, body: DisbursementBody, ctx: CtxDep) -> JsonView:
    """Disburse an approved application whose pledges are all registered: the loan for the
    approved amount at the locked rate, with its monthly schedule."""
    loan = await service.disburse(
        ctx,
        application_id=application_id,
        disbursed_on=body.disbursed_on,
        repayment_method=body.repayment_method,
    )
    return _answer(loan, status_code=201, Location=f"/v1/loans/{loan.id}")


@router.get("/v1/loans", response_model=Page[LoanOut], responses=problems(NotFound))
@access(*READERS)
async def list_loans(
    ctx: CtxDep,
    state: LoanStateLiteral | None = None,
    enterprise_id: UUID | None = None,
    district_code: Annotated[Text | None, Query(pattern=r"^[0-9]{6}$")] = None,
    relationship_manager_id: Annotated[Text | None, Query(max_length=64)] = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> JsonView:
    """Loans newest first, as of today; a relationship manager sees their own."""
    page = await service.list_loans(
        ctx,
        state=state,
        enterprise_id=enterprise_id,
        district_code=district_code,
        relationship_manager_id=relationship_manager_id,
        cursor=cursor,
        limit=limit,
    )
    return JsonView(views.page(page))


@router.get("/v1/loans/{loan_id}", response_model=LoanOut, responses=problems(NotFound))
@access(*READERS, etag=True)
async def get_loan(loan_id: PathId, ctx: CtxDep, as_of: IsoDate | None = None) -> JsonView:
    """The loan and its schedule as of a date (default today; a future date projects it; not
    before the disbursement)."""
    loan = await service.get_loan(ctx, loan_id=loan_id, as_of=as_of)
    return _answer(loan)


@router.post(
    "/v1/loans/{loan_id}/repayments",
    status_code=201,
    response_model=RepaymentOut,
    responses=problems(
        NotFound,
        InvalidStateTransition,
        PreconditionFailed,
        ConcurrentUpdate,
        Overpayment,
        PayoffRequired,
    ),
)
@access(Role.CREDIT_OFFICER, transactional=False, if_match=True)
async def post_repayment(loan_id: PathId, body: RepaymentBody, ctx: CtxDep) -> JsonView:
    """Post a repayment as of `paid_on`: what is overdue first, oldest first (penalty
    interest, interest, principal); then the current instalment's interest and principal; the
    remainder prepays principal and the later instalments are re-amortised by
    `prepayment_option`. Exactly the payoff amount pays the loan off; more is refused."""
    posted = await posting.repay(
        ctx,
        loan_id=loan_id,
        paid_on=body.paid_on,
        amount=body.amount,
        option=body.prepayment_option,
    )
    return JsonView(views.repayment(posted), status_code=201)


@router.get(
    "/v1/loans/{loan_id}/payoff",
    response_model=PayoffOut,
    responses=problems(NotFound, ValidationFailed),
)
@access(Role.CREDIT_OFFICER, Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER, Role.ADMIN)
async def get_payoff(loan_id: PathId, ctx: CtxDep, on: IsoDate | None = None) -> JsonView:
    """The exact amount that closes the loan on `on` (default today; not before the
    disbursement; a future date projects it), and its parts."""
    quote = await service.payoff_quote(ctx, loan_id=loan_id, on=on)
    return JsonView(views.payoff(quote))


@router.post(
    "/v1/loans/{loan_id}/default",
    response_model=LoanOut,
    responses=problems(
        NotFound, InvalidStateTransition, PreconditionFailed, DefaultNotAllowed, ConcurrentUpdate
    ),
)
@access(Role.CREDIT_OFFICER, if_match=True, etag=True)
async def declare_default(loan_id: PathId, body: DefaultBody, ctx: CtxDep) -> JsonView:
    """Declare a loan 90 or more days past due defaulted: its pledges are enforced."""
    loan = await service.declare_default(ctx, loan_id=loan_id, as_of=body.as_of, reason=body.reason)
    return _answer(loan)
