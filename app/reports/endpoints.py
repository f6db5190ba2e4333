from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.core.errors import ValidationFailed, problems
from app.core.roles import BANK_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import IsoDate
from app.reports import portfolio, service
from app.reports.schemas import CampaignReport, PortfolioReport, SlaReport, SubsidyReport

router = ApiRouter(prefix="/v1/reports", tags=["reports"])

From = Annotated[
    IsoDate,
    Query(alias="from", description="First date of the period, inclusive (Asia/Shanghai)."),
]
To = Annotated[
    IsoDate,
    Query(description=f"Last date, inclusive; at most {service.MAX_PERIOD_DAYS} days in all."),
]


@router.get("/sla", response_model=SlaReport, responses=problems())
@access(BANK_ROLES)
async def get_sla_report(ctx: CtxDep, from_: From, to: To) -> SlaReport:
    """The approval clock against its deadlines, per tier (3, 5, 10 working days) and overall.

    The period selects **clocks by their receipt date** (the Asia/Shanghai date of the current
    clock's `received_at`, as `received_from`/`received_to` do on `GET /v1/applications`):
    the cohort received in the period, and what became of each clock, in exactly the
    `sla.state` that `GET /v1/applications/{id}` shows now. So `received` is the sum of `met`,
    `missed`, `running`, `at_risk`, `breached`, `paused`, `withdrawn` and `pending_calendar`;
    `decided` is `met` + `missed`; `open` is `running` + `at_risk` + `breached` (true as of
    `as_of`). A clock returned for information and resubmitted counts once, by its current
    clock. `compliance_rate` is `met` / `decided`, half-up to four decimals. The median counts
    working days from the receipt date to the decision date, the first day not counted (a
    decision on a 3-day clock's deadline date is 3); decisions dated in an unpublished year are
    left out of it. A relationship manager sees figures over their own applications only."""
    return await service.sla_report(ctx, start=from_, end=to)


@router.get("/campaign", response_model=CampaignReport, responses=problems())
@access(BANK_ROLES)
async def get_campaign_report(ctx: CtxDep, from_: From, to: To) -> CampaignReport:
    """The campaign's figures by industry and by district, with totals, over the applications
    **received in the period** (by the receipt date of their current clock; drafts never
    submitted are not applications yet), each under its enterprise's industry and district.

    `enterprises_served`: enterprises with an application received; `enterprises_financed`:
    those with an approval. `approvals` and `approved_amount`: the applications approved
    (disbursed since or not; an approval the applicant withdrew is not counted).
    `ip_pledges`: the approvals' pledges registered with CNIPA — a pledge of IP is created by
    registration — whether still live or released or enforced since. `secured_amount`, the
    amount they secure: the approved amount of the approvals with at least one registered
    pledge (what CNIPA statistics call the pledge financing amount; an approval still waiting
    for registration is in `approved_amount` but not here). A relationship manager sees
    figures over their own applications only."""
    return await service.campaign_report(ctx, start=from_, end=to)


@router.get("/subsidies", response_model=SubsidyReport, responses=problems())
@access(BANK_ROLES, Role.DISTRICT_BUREAU)
async def get_subsidy_report(ctx: CtxDep, from_: From, to: To) -> SubsidyReport:
    """Per district programme in force during the period: its budget, the claims whose basis
    date (the interest payment's date, or the default's) lies in the period — `claimed` in
    all, `pending`, `approved` (paid since or not), `rejected`, `paid` — and what the budget
    has `remaining` now. Over a programme's whole budget year, `remaining` is `budget` minus
    (`claimed` − `rejected`). A district bureau sees its own district's programmes only."""
    return await service.subsidy_report(ctx, start=from_, end=to)


@router.get("/portfolio", response_model=PortfolioReport, responses=problems(ValidationFailed))
@access(BANK_ROLES, Role.DISTRICT_BUREAU)
async def get_portfolio_report(
    ctx: CtxDep,
    as_of: Annotated[
        IsoDate | None, Query(description="The date the loans are classed on; default today.")
    ] = None,
) -> PortfolioReport:
    """The loans outstanding on `as_of` by risk class (五级分类: normal, special mention,
    substandard, doubtful, loss, by days past due; a defaulted loan at least substandard),
    each as its own view shows it on that date: per class and in total, the loan count and
    outstanding principal, and `npl_ratio`, the substandard, doubtful and loss balances over
    all balances. A relationship manager sees their own loans, a district bureau its
    district's."""
    return await portfolio.portfolio_report(ctx, as_of=as_of)
