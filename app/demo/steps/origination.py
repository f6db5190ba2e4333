"""Steps 3 to 5: the enterprise and its IP, an application in each approval-clock tier (one
across a public holiday), and the quote and approval of one with the capped discount."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from ipledge_client import models

from app.core.types import SHANGHAI
from app.demo.client import ApiError
from app.demo.console import cny, count
from app.demo.dates import REACH_BACK_DAYS, holidays_crossed
from app.demo.identities import (
    APPROVED_ASSETS,
    ENTERPRISE,
    HOLIDAY_ASSETS,
    LARGE_ASSETS,
    Asset,
    credit_code,
)
from app.demo.state import RELATIONSHIP_MANAGER, Run

APPRAISER = "Qianhai Hengxin Asset Appraisal (demo)"
TIER_NAMES = {3: "up to CNY 10m", 5: "CNY 10m to 30m", 10: "over CNY 30m"}


@dataclass(frozen=True)
class Planned:
    role: str
    amount: str
    term_months: int
    purpose: str
    assets: tuple[Asset, ...]


APPLICATIONS = (
    Planned("approved", "5000000.00", 12, "研发投入与推理算力采购", APPROVED_ASSETS),
    Planned("holiday", "18000000.00", 24, "低空物流无人机产线建设", HOLIDAY_ASSETS),
    Planned("large", "45000000.00", 36, "智算中心二期扩建", LARGE_ASSETS),
)


def enterprise(run: Run) -> None:
    rm = run.key("relationship_manager")
    for attempt in range(3):  # a fresh random code each time; another run may hold one drawn
        body = {
            "name": ENTERPRISE["name"],
            "credit_code": credit_code(run.rng),
            "district_code": ENTERPRISE["district_code"],
            "industry": ENTERPRISE["industry"],
            "high_tech": True,
            "cross_border": False,
        }
        idempotency_key = f"demo-enterprise-{uuid.uuid4()}"
        try:
            response = run.api.request(
                "POST", "/v1/enterprises", key=rm, json=body, idempotency_key=idempotency_key
            )
            break
        except ApiError as exc:
            if exc.problem_slug != "duplicate-credit-code" or attempt == 2:
                raise
    created = models.EnterpriseOut.model_validate_json(response.content)
    run.enterprise = created
    run.out.did(f"{created.name} ({ENTERPRISE['english']}): enterprise {created.id}")
    run.out.fact("unified social credit code", created.credit_code, strong=True)
    run.out.fact(
        "district, industry",
        f"{created.district_code} {ENTERPRISE['district']}, {created.industry}, "
        "national high-tech enterprise",
    )
    again = run.api.request(
        "POST", "/v1/enterprises", key=rm, json=body, idempotency_key=idempotency_key
    )
    replayed = again.headers.get("idempotent-replayed") == "true"
    run.out.did(
        "sent the same POST again with the same Idempotency-Key: "
        + ("replayed (Idempotent-Replayed: true), " if replayed else "")
        + ("still one enterprise" if again.json()["id"] == str(created.id) else "a second one!")
    )
    valued_on = _valuation_date(run)
    for planned in APPLICATIONS:
        run.asset_ids[planned.role] = [
            _asset(run, asset, created.id, valued_on) for asset in planned.assets
        ]


def _valuation_date(run: Run) -> date:
    """A fortnight before the earliest receipt the demo plans: appraisals precede applications
    and stay within the 365 days a quote counts them."""
    assert run.loan_dates is not None
    receipts = [run.loan_dates.received_on, run.holiday_received_on or run.today]
    return min(receipts) - timedelta(days=14)


def _asset(run: Run, asset: Asset, holder_id: UUID, valued_on: date) -> UUID:
    rm = run.as_("relationship_manager")
    for attempt in range(3):  # a fresh random number each time, as for the credit code
        try:
            created = rm.create_ip_asset(asset.body(str(holder_id), run.rng))
            break
        except ApiError as exc:
            if exc.problem_slug != "duplicate-ip-asset" or attempt == 2:
                raise
    rm.add_ip_asset_valuation(
        created.id,
        models.ValuationCreate(
            value=Decimal(asset.value),
            appraiser=APPRAISER,
            method="income approach (收益法)",
            valuation_date=valued_on,
        ),
    )
    run.out.did(
        f"{created.kind} {created.number} 《{created.title}》 valued at "
        f"{cny(asset.value)} on {valued_on}"
    )
    return created.id


def applications(run: Run) -> None:
    assert run.loan_dates is not None
    receipts = {
        "approved": (run.loan_dates.received_on, "09:30"),
        "holiday": (run.holiday_received_on, "16:30"),
        "large": (None, ""),
    }
    assert run.enterprise is not None
    rm = run.as_("relationship_manager")
    for planned in APPLICATIONS:
        draft = rm.create_application(
            models.ApplicationCreate(
                enterprise_id=run.enterprise.id,
                amount=Decimal(planned.amount),
                term_months=planned.term_months,
                purpose=planned.purpose,
                ip_asset_ids=run.asset_ids[planned.role],
            )
        )
        received_on, at = receipts[planned.role]
        submitted, back_dated = _submit(run, draft.id, received_on, at)
        run.applications[planned.role] = submitted
        _show_clock(run, submitted)
        if planned.role == "approved" and back_dated:
            run.loan_backdated = True
            run.out.info(
                f"received a month back, so that its loan can be booked on "
                f"{run.loan_dates.disbursed_on:%a %d %b} and have an instalment due by today"
            )
        if planned.role == "holiday" and not _crosses_holiday(run, submitted):
            run.caveat(_no_holiday_reason(run, back_dated))


def _crosses_holiday(run: Run, app: models.ApplicationOut) -> bool:
    sla = app.sla
    if sla is None or sla.deadline_date is None or sla.received_at is None:
        return False
    received = _local_date(sla.received_at)
    return bool(holidays_crossed(run.calendar, received, sla.deadline_date))


def _no_holiday_reason(run: Run, back_dated: bool) -> str:
    if run.holiday_received_on is None:
        return (
            f"no public holiday lies within {REACH_BACK_DAYS} days back, nor within the tier's "
            "working days ahead, in the published calendar: no clock crosses one today"
        )
    if not back_dated and run.holiday_received_on < run.today:
        return (
            f"no clock crosses a holiday: the latest is reached by a receipt on "
            f"{run.holiday_received_on}, further back than the service allows. Start it with "
            f"IPLEDGE_MAX_BACKDATE_DAYS={REACH_BACK_DAYS} to see one"
        )
    return "the clock crosses no public holiday"


def _submit(
    run: Run, application_id: UUID, received_on: date | None, at: str
) -> tuple[models.ApplicationOut, bool]:
    """The submitted application, and whether it was received on the back-dated date."""
    rm = run.as_("relationship_manager")
    if received_on is None or received_on >= run.today:
        return rm.submit_application(application_id), False
    received_at = datetime.fromisoformat(f"{received_on}T{at}:00+08:00")
    try:
        return rm.submit_application(application_id, {"received_at": received_at}), True
    except ApiError as exc:
        if not exc.about("body", "received_at"):
            raise
        refusal = exc.detail
    run.out.note(
        f"the service refused the receipt date {received_on} ({refusal}): received now instead"
    )
    return rm.submit_application(application_id), False


def _local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _show_clock(run: Run, app: models.ApplicationOut) -> None:
    sla = app.sla
    assert sla is not None and sla.received_at is not None
    tier = sla.tier_working_days
    received = _local_date(sla.received_at)
    run.out.did(
        f"{app.reference}: {cny(app.amount)} over {app.term_months} months, "
        f"{count(len(app.pledges), 'pledge')} proposed, submitted by {RELATIONSHIP_MANAGER}"
    )
    run.out.fact("tier", f"{tier} working days ({TIER_NAMES.get(tier, '?')})", strong=True)
    run.out.fact("received", f"{received:%a %d %b %Y}")
    if sla.deadline_date is None:
        run.out.fact("deadline", "pending_calendar: it falls in a year not yet published")
    else:
        deadline = sla.deadline_date
        run.out.fact("deadline", f"{deadline:%a %d %b %Y}, end of day", strong=True)
        for name, days in holidays_crossed(run.calendar, received, deadline).items():
            run.out.fact("crosses the public holiday", f"{name}, {_span(days)}", strong=True)
        for makeup in run.calendar.makeup_workdays_between(received, deadline):
            run.out.fact("counts", f"{makeup.date:%a %d %b}, a make-up working day (调休)")
    run.out.fact("clock", sla.state + _clock_meaning(sla.state))


def _span(days: list[date]) -> str:
    first, last = days[0], days[-1]
    return f"{first:%d %b}" if first == last else f"{first:%d %b} to {last:%d %b %Y}"


def _clock_meaning(state: str) -> str:
    return {
        "running": " (the deadline is ahead)",
        "at_risk": " (the deadline is today)",
        "breached": " (past its deadline undecided: the worker's SLA sweep emits "
        "application.sla_breached once)",
        "pending_calendar": " (computed once the year is published)",
    }.get(state, "")


def approval(run: Run) -> None:
    officer = run.as_("credit_officer")
    app = run.applications["approved"]
    officer.review_application(app.id)
    run.out.did(f"{app.reference} taken under review by a credit officer")
    quote = officer.create_quote(app.id)
    run.out.did(f"quote {quote.id} for {cny(quote.amount)}, {quote.term_months} months")
    run.out.fact("1-year LPR", f"{quote.lpr_bp} bp (fixed {quote.lpr_date})")
    run.out.fact("spread", f"+{quote.spread_bp} bp")
    for component in quote.components:
        run.out.fact(f"  {component.code}", f"{component.bp} bp  {_why(component)}")
    run.out.fact(
        "discount",
        f"{quote.discount_uncapped_bp} bp → {quote.discount_bp} bp "
        "(discount_uncapped_bp → discount_bp, capped at 20 bp)",
        strong=True,
    )
    run.out.fact(
        "rate",
        f"{quote.lpr_bp} + {quote.spread_bp} − {quote.discount_bp} = "
        f"{quote.rate_bp} bp ({quote.rate_bp / 100:.2f}% a year)",
        strong=True,
    )
    decided = officer.decide_application(app.id, {"outcome": "approved", "quote_id": quote.id})
    run.applications["approved"] = decided
    run.out.did(
        f"approved {cny(decided.approved_amount)} at {decided.rate_bp} bp: the quote's "
        "rate is locked"
    )
    state = decided.sla.state if decided.sla is not None else "?"
    meaning = {
        "met": " (decided by the deadline)",
        "missed": " (decided after the deadline: the receipt was back-dated a month)",
    }.get(state, "")
    run.out.fact("clock", state + meaning)


def _why(component: models.QuoteComponentOut) -> str:
    facts = component.facts
    code = component.code
    if code == "pledge_coverage":
        return (
            f"valuations {cny(facts['counted_valuation_total'])} = "
            f"{facts['coverage_ratio']} × the amount"
        )
    if code == "invention_patent":
        return f"{count(len(facts['invention_patents']), 'invention patent')} pledged"
    if code == "priority_industry":
        return f"{facts['industry']} is a priority cluster" if facts["priority_cluster"] else ""
    return f"district {facts['district_code']} shares the risk (risk-compensation programme)"
