"""Loans: disbursement, repayments, days past due and default.

Value dates (`disbursed_on`, `paid_on`, `as_of`) may lie in the past but never in the future.
Repayments are posted in value-date order (a repayment dated before one already posted is
refused): the allocation of each depends on what was due on its date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.applications import moves as application_moves
from app.core import audit, journal, outbox
from app.core.clock import business_date
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import ConcurrentUpdate, InvalidStateTransition, NotFound
from app.core.ids import uuid7
from app.core.roles import Role
from app.core.schemas import decode_cursor
from app.core.sql import Filters
from app.loans import ledger, payoff, repository, rows, servicing
from app.loans.access import earliest_value_date, value_date, visible
from app.loans.accrual import days_past_due
from app.loans.classification import classify_schedule, next_change
from app.loans.domain import Loan, LoanPage, Payoff
from app.loans.errors import DefaultNotAllowed, LockedRateBelowZero
from app.loans.posting import NEVER, announce_class_change
from app.loans.schedule import RepaymentMethod, build_schedule, maturity_date
from app.models.application import ApplicationState
from app.models.loan import LoanState
from app.pledges import service as pledges_service
from app.pledges.errors import PledgeNotRegistered
from app.subsidies import claims as subsidy_claims

DEFAULT_AFTER_DAYS = 90


# --- reading -------------------------------------------------------------------------------


async def schedule_as_of(ctx: Ctx, row: Any, as_of: date) -> ledger.Schedule:
    """The loan's schedule as it stood at the end of ``as_of`` (``schedules_as_of``)."""
    return (await schedules_as_of(ctx, [row], as_of))[row["id"]]


async def schedules_as_of(
    ctx: Ctx, loans: Sequence[Any], as_of: date
) -> dict[UUID, ledger.Schedule]:
    """Each loan's schedule as it stood at the end of ``as_of``, by id: as stored when no
    repayment is dated after it, else its repayments up to then replayed through the engine
    (read in one statement for all such loans)."""
    later = [r["id"] for r in loans if r["last_paid_on"] is not None and as_of < r["last_paid_on"]]
    records: dict[UUID, list[Any]] = {loan_id: [] for loan_id in later}
    if later:
        for record in await repository.repayments_until(ctx.db, later, as_of):
            records[record["loan_id"]].append(record)
    uplift = ctx.settings.penalty_uplift
    return {
        r["id"]: _replayed(r, records[r["id"]], uplift)
        if r["id"] in records
        else rows.schedule(r["schedule"])
        for r in loans
    }


async def read_schedules_as_of(
    ctx: Ctx, loan_ids: Sequence[UUID], as_of: date
) -> dict[UUID, ledger.Schedule]:
    """``schedules_as_of`` of the loans ``loan_ids``, read in one statement; the caller may
    see every loan (no relationship manager's filter is applied)."""
    return await schedules_as_of(ctx, await repository.read_many(ctx.db, loan_ids), as_of)


def _replayed(row: Any, records: list[Any], uplift: Decimal) -> ledger.Schedule:
    """The schedule after ``records`` (the loan's repayments up to a date, in posting order)."""
    try:
        schedule, _ = servicing.replay(rows.terms(row, uplift), rows.repayments(records))
    except (ledger.Overpayment, ledger.PayoffRequired):
        # A loan closed under earlier rules keeps the allocations it was posted with.
        return rows.as_allocated(rows.schedule(row["schedule"]), records)
    return schedule


def _as_of(ctx: Ctx, row: Any, value: date | None, field: str) -> date:
    """The date a read shows the loan on (default today; a future one projects it): never
    before its disbursement, when the loan owed nothing (422 on ``field``)."""
    return value_date(
        ctx,
        value or ctx.today,
        field,
        not_before=row["disbursed_on"],
        what="the disbursement",
        where="query",
        future=True,
    )


async def get_loan(ctx: Ctx, *, loan_id: UUID, as_of: date | None) -> Loan:
    row = visible(ctx, await repository.get(ctx.db, loan_id))
    on = _as_of(ctx, row, as_of, "as_of")
    schedule = await schedule_as_of(ctx, row, on)
    return Loan.of(row, schedule, on, ctx.settings.penalty_uplift)


async def payoff_quote(ctx: Ctx, *, loan_id: UUID, on: date | None) -> Payoff:
    row = visible(ctx, await repository.get(ctx.db, loan_id))
    on = _as_of(ctx, row, on, "on")
    schedule = await schedule_as_of(ctx, row, on)
    terms = rows.terms(row, ctx.settings.penalty_uplift)
    return Payoff(row["id"], payoff.quote(schedule, on, terms))


async def list_loans(
    ctx: Ctx,
    *,
    state: str | None,
    enterprise_id: UUID | None,
    district_code: str | None,
    relationship_manager_id: str | None,
    cursor: str | None,
    limit: int,
) -> LoanPage:
    filters = Filters()
    if ctx.principal.role is Role.RELATIONSHIP_MANAGER:
        filters.add("l.relationship_manager_id = {}", ctx.principal.subject)
    filters.when(state, "l.state = {}")
    filters.when(enterprise_id, "l.enterprise_id = {}")
    filters.when(district_code, "l.district_code = {}")
    filters.when(relationship_manager_id, "l.relationship_manager_id = {}")
    filters.when(decode_cursor(cursor), "l.id < {}")
    limit_param = filters.param(limit + 1)
    records = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return LoanPage.of(records, limit, ctx.today, ctx.settings.penalty_uplift)


# --- disbursement --------------------------------------------------------------------------


async def disburse(
    ctx: Ctx, *, application_id: UUID, disbursed_on: date, repayment_method: str
) -> Loan:
    app = await repository.application_for_disbursement(ctx.db, application_id)
    if app is None:
        raise NotFound("no such application")
    _check_disbursable(ctx, app, disbursed_on)
    method = RepaymentMethod(repayment_method)
    schedule = build_schedule(
        principal=app["approved_amount"],
        rate_bp=app["rate_bp"],
        term_months=app["term_months"],
        disbursed_on=disbursed_on,
        method=method,
    )
    loan = _new_loan(ctx, app, disbursed_on=disbursed_on, method=method)
    params = journal.Params()
    moved = application_moves.disbursement_move(
        params,
        application_id=params.add(application_id),
        version=app["version"],
        now=params.add(ctx.now),
    )
    done = await repository.insert_loan(
        ctx.db,
        params=params,
        application_move=moved,
        loan=loan,
        installments=[(i.seq, i.due_date, i.principal, i.interest) for i in schedule],
    )
    if not done:
        raise ConcurrentUpdate("the application changed meanwhile; read it again")
    _record_disbursement(ctx, app, loan)
    row = await repository.get(ctx.db, loan["id"])
    assert row is not None
    return Loan.of(row, rows.schedule(row["schedule"]), ctx.today, ctx.settings.penalty_uplift)


def _check_disbursable(ctx: Ctx, app: dict[str, Any], disbursed_on: date) -> None:
    """The application, as read and locked, may be disbursed on ``disbursed_on``: the version
    the caller read, approved at a rate not below 0, every pledge registered, a value date not
    before its receipt."""
    check_if_match(ctx, app["version"])
    if app["state"] != ApplicationState.APPROVED:
        raise InvalidStateTransition(
            f"cannot disburse an application that is {app['state']}", state=app["state"]
        )
    if app["rate_bp"] < 0:
        # Approval refuses such a rate; an application approved before it did may still hold one.
        raise LockedRateBelowZero(
            f"the application was approved at {app['rate_bp']} bp and a loan's rate may not be "
            "below 0, so it cannot be disbursed; withdraw it and apply again",
            rate_bp=app["rate_bp"],
        )
    if app["unregistered"] or not app["registered"]:
        raise PledgeNotRegistered(
            "register every pledge with CNIPA before disbursing",
            pledge_ids=[str(p) for p in app["unregistered"]],
        )
    received = business_date(app["first_received_at"])
    value_date(
        ctx, disbursed_on, "disbursed_on", not_before=received, what="the application's receipt"
    )


def _new_loan(
    ctx: Ctx, app: dict[str, Any], *, disbursed_on: date, method: RepaymentMethod
) -> dict[str, Any]:
    """The columns of the loan that disburses the approved application ``app``."""
    return {
        "id": uuid7(),
        "application_id": app["id"],
        "enterprise_id": app["enterprise_id"],
        "relationship_manager_id": app["relationship_manager_id"],
        "district_code": app["district_code"],
        "industry": app["industry"],
        "principal": app["approved_amount"],
        "rate_bp": app["rate_bp"],
        "repayment_method": method.value,
        "term_months": app["term_months"],
        "disbursed_on": disbursed_on,
        "maturity_date": maturity_date(disbursed_on, app["term_months"]),
        "created_by": ctx.principal.key_id,
        "created_at": ctx.now,
    }


_DISBURSED_FACTS = (
    "application_id",
    "principal",
    "rate_bp",
    "repayment_method",
    "disbursed_on",
    "maturity_date",
)


def _record_disbursement(ctx: Ctx, app: dict[str, Any], loan: dict[str, Any]) -> None:
    """Queue the audit entries of the application's move and of the loan, and
    ``loan.disbursed``."""
    audit.record(
        ctx,
        action="application.disbursed",
        entity_type="application",
        entity_id=app["id"],
        before={"state": ApplicationState.APPROVED},
        after={"state": ApplicationState.DISBURSED, "loan_id": loan["id"]},
    )
    audit.record(
        ctx,
        action="loan.disbursed",
        entity_type="loan",
        entity_id=loan["id"],
        after={k: loan[k] for k in _DISBURSED_FACTS},
    )
    outbox.emit(
        ctx,
        "loan.disbursed",
        {
            "loan_id": loan["id"],
            "reference": app["reference"],
            "enterprise_id": app["enterprise_id"],
            **{k: loan[k] for k in _DISBURSED_FACTS},
        },
        district_code=app["district_code"],
    )


# --- default -------------------------------------------------------------------------------


def _defaulted_class(ctx: Ctx, row: Any) -> tuple[str, date]:
    """The class today once defaulted (at least substandard), announced with the default, and
    when it may next change."""
    today = rows.schedule(row["schedule"])
    cls = classify_schedule(today, ctx.today, defaulted=True).value
    announce_class_change(ctx, row, cls, reason="default")
    return cls, next_change(today, ctx.today, defaulted=True) or NEVER


async def declare_default(ctx: Ctx, *, loan_id: UUID, as_of: date, reason: str) -> Loan:
    row = visible(ctx, await repository.get(ctx.db, loan_id, lock=True))
    dpd = await _check_default(ctx, row, as_of)
    cls, review_on = _defaulted_class(ctx, row)
    if not await repository.mark_defaulted(
        ctx.db,
        loan_id=loan_id,
        version=row["version"],
        on=as_of,
        reason=reason,
        now=ctx.now,
        classification=cls,
        review_on=review_on,
    ):
        raise ConcurrentUpdate("the loan changed meanwhile; read it again")
    outstanding = Decimal(row["outstanding_principal"])
    _record_default(ctx, row, as_of=as_of, dpd=dpd, reason=reason, outstanding=outstanding)
    await pledges_service.enforce_for_loan(
        ctx,
        application_id=row["application_id"],
        on=as_of,
        district_code=row["district_code"],
        reason="loan in default",
    )
    await subsidy_claims.on_default(
        ctx, loan=row, defaulted_on=as_of, outstanding_principal=outstanding
    )
    fresh = await repository.get(ctx.db, loan_id)
    assert fresh is not None
    return Loan.of(fresh, rows.schedule(fresh["schedule"]), ctx.today, ctx.settings.penalty_uplift)


async def _check_default(ctx: Ctx, row: Mapping[str, Any], as_of: date) -> int:
    """The loan's days past due on ``as_of``, once it is sure a default may be declared."""
    check_if_match(ctx, row["version"])
    if row["state"] != LoanState.ACTIVE:
        raise InvalidStateTransition(
            f"cannot declare default on a loan that is {row['state']}", state=row["state"]
        )
    not_before, what = earliest_value_date(row)
    value_date(ctx, as_of, "as_of", not_before=not_before, what=what)
    dpd = days_past_due(await schedule_as_of(ctx, row, as_of), as_of)
    if dpd < DEFAULT_AFTER_DAYS:
        raise DefaultNotAllowed(
            f"the loan is {dpd} days past due on {as_of}; default needs {DEFAULT_AFTER_DAYS}",
            days_past_due=dpd,
        )
    return dpd


def _record_default(
    ctx: Ctx,
    row: Mapping[str, Any],
    *,
    as_of: date,
    dpd: int,
    reason: str,
    outstanding: Decimal,
) -> None:
    """The default's audit entry and its ``loan.defaulted`` event."""
    audit.record(
        ctx,
        action="loan.defaulted",
        entity_type="loan",
        entity_id=row["id"],
        before={"state": LoanState.ACTIVE},
        after={
            "state": LoanState.DEFAULTED,
            "defaulted_on": as_of,
            "days_past_due": dpd,
            "reason": reason,
            "outstanding_principal": outstanding,
        },
    )
    outbox.emit(
        ctx,
        "loan.defaulted",
        {
            "loan_id": row["id"],
            "application_id": row["application_id"],
            "enterprise_id": row["enterprise_id"],
            "defaulted_on": as_of,
            "days_past_due": dpd,
            "outstanding_principal": outstanding,
            "reason": reason,
        },
        district_code=row["district_code"],
    )


async def mark_securitized(ctx: Ctx, *, pool_id: UUID, on: date) -> None:
    """Record on each loan of the pool that it was transferred to the pool's SPV on ``on``."""
    await repository.mark_securitized(ctx.db, pool_id=pool_id, on=on, now=ctx.now)
