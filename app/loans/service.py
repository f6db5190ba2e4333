"""Loans: disbursement, repayments, days past due and default.

Value dates (`disbursed_on`, `paid_on`, `as_of`) may lie in the past but never in the future.
Repayments are posted in value-date order (a repayment dated before one already posted is
refused): the allocation of each depends on what was due on its date.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core import audit, outbox
from app.core.clock import business_date
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    ValidationFailed,
    field_error,
)
from app.core.ids import uuid7
from app.core.jsonutil import dumps_str
from app.core.roles import Role
from app.core.schemas import decode_cursor
from app.core.sql import Filters
from app.loans import repository, views
from app.loans.errors import DefaultNotAllowed
from app.loans.repayment import (
    InstallmentState,
    Overpayment,
    allocate,
    days_past_due,
    outstanding_principal,
)
from app.loans.schedule import RepaymentMethod, build_schedule, maturity_date
from app.pledges import service as pledges_service
from app.pledges.errors import PledgeNotRegistered
from app.subsidies import claims as subsidy_claims

DEFAULT_AFTER_DAYS = 90


def _as_of_states(states: list[InstallmentState], repayments: list[Any]) -> list[InstallmentState]:
    """The schedule as it stood on a past date: only repayments dated on or before it."""
    paid: dict[int, list[Decimal]] = {s.seq: [Decimal(0), Decimal(0)] for s in states}
    for repayment in repayments:
        for line in repayment["allocation"]:
            paid[line["seq"]][0] += Decimal(line["principal"])
            paid[line["seq"]][1] += Decimal(line["interest"])
    return [
        InstallmentState(
            seq=s.seq,
            due_date=s.due_date,
            principal=s.principal,
            interest=s.interest,
            paid_principal=paid[s.seq][0],
            paid_interest=paid[s.seq][1],
        )
        for s in states
    ]


def _visible(ctx: Ctx, row: asyncpg.Record | None) -> asyncpg.Record:
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound("no such loan")
    return row


def _value_date(
    ctx: Ctx, value: date, field: str, *, not_before: date | None = None, what: str = ""
) -> date:
    loc = ["body", field]
    if value > ctx.today:
        raise ValidationFailed(
            f"{field} may not be in the future", errors=[field_error(loc, "in the future")]
        )
    if not_before is not None and value < not_before:
        raise ValidationFailed(
            f"{field} may not be before {what} ({not_before})",
            errors=[field_error(loc, f"before {what}")],
        )
    return value


# --- reading -------------------------------------------------------------------------------


async def get_loan(ctx: Ctx, *, loan_id: UUID, as_of: date | None) -> dict[str, Any]:
    row = _visible(ctx, await repository.get(ctx.db, loan_id))
    as_of = as_of or ctx.today
    states = views.states(row["schedule"])
    if as_of < ctx.today:
        states = _as_of_states(states, await repository.repayments_until(ctx.db, loan_id, as_of))
    return views.loan(row, states, as_of)


async def list_loans(
    ctx: Ctx,
    *,
    state: str | None,
    enterprise_id: UUID | None,
    district_code: str | None,
    relationship_manager_id: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    filters = Filters()
    if ctx.principal.role is Role.RELATIONSHIP_MANAGER:
        filters.add("l.relationship_manager_id = {}", ctx.principal.subject)
    filters.when(state, "l.state = {}")
    filters.when(enterprise_id, "l.enterprise_id = {}")
    filters.when(district_code, "l.district_code = {}")
    filters.when(relationship_manager_id, "l.relationship_manager_id = {}")
    filters.when(decode_cursor(cursor), "l.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return views.page(rows, limit, ctx.today)


# --- disbursement --------------------------------------------------------------------------


async def disburse(
    ctx: Ctx, *, application_id: UUID, disbursed_on: date, repayment_method: str
) -> dict[str, Any]:
    app = await repository.application_for_disbursement(ctx.db, application_id)
    if app is None:
        raise NotFound("no such application")
    check_if_match(ctx, app["version"])
    if app["state"] != "approved":
        raise InvalidStateTransition(
            f"cannot disburse an application that is {app['state']}", state=app["state"]
        )
    if app["unregistered"] or not app["registered"]:
        raise PledgeNotRegistered(
            "register every pledge with CNIPA before disbursing",
            pledge_ids=[str(p) for p in app["unregistered"]],
        )
    received = business_date(app["first_received_at"])
    _value_date(
        ctx, disbursed_on, "disbursed_on", not_before=received, what="the application's receipt"
    )
    method = RepaymentMethod(repayment_method)
    schedule = build_schedule(
        principal=app["approved_amount"],
        rate_bp=app["rate_bp"],
        term_months=app["term_months"],
        disbursed_on=disbursed_on,
        method=method,
    )
    loan_id = uuid7()
    loan = {
        "id": loan_id,
        "application_id": application_id,
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
    done = await repository.insert_loan(
        ctx.db,
        loan=loan,
        application_version=app["version"],
        installments=[(i.seq, i.due_date, i.principal, i.interest) for i in schedule],
    )
    if not done:
        raise ConcurrentUpdate("the application changed meanwhile; read it again")
    audit.record(
        ctx,
        action="application.disbursed",
        entity_type="application",
        entity_id=application_id,
        before={"state": "approved"},
        after={"state": "disbursed", "loan_id": loan_id},
    )
    audit.record(
        ctx,
        action="loan.disbursed",
        entity_type="loan",
        entity_id=loan_id,
        after={
            k: loan[k]
            for k in (
                "application_id",
                "principal",
                "rate_bp",
                "repayment_method",
                "disbursed_on",
                "maturity_date",
            )
        },
    )
    outbox.emit(
        ctx,
        "loan.disbursed",
        {
            "loan_id": loan_id,
            "application_id": application_id,
            "reference": app["reference"],
            "enterprise_id": app["enterprise_id"],
            "principal": loan["principal"],
            "rate_bp": loan["rate_bp"],
            "repayment_method": method.value,
            "disbursed_on": disbursed_on,
            "maturity_date": loan["maturity_date"],
        },
        district_code=app["district_code"],
    )
    row = await repository.get(ctx.db, loan_id)
    assert row is not None
    return views.loan(row, views.states(row["schedule"]), ctx.today)


# --- repayments ----------------------------------------------------------------------------


async def repay(ctx: Ctx, *, loan_id: UUID, paid_on: date, amount: Decimal) -> dict[str, Any]:
    """Post a repayment. First without a lock, in one statement that writes only if the loan
    has not moved on since it was read (a version check): the common posting is then two round
    trips, a read and a write that commits by itself. A posting that must do more (a payoff
    releases the pledges, an interest payment in a subsidised district claims under the
    programme's lock), or whose loan changed meanwhile, is made again from the start under the
    loan's lock, in a transaction: concurrent postings to one loan queue there instead of
    failing."""
    posted = await _post(ctx, loan_id=loan_id, paid_on=paid_on, amount=amount, locked=False)
    if posted is not None:
        return posted
    # Within an Idempotency-Key's unit of work (or a test's) the transaction is already open.
    async with nullcontext() if ctx.db.in_transaction() else ctx.db.transaction():
        posted = await _post(ctx, loan_id=loan_id, paid_on=paid_on, amount=amount, locked=True)
        await outbox.flush(ctx)
    assert posted is not None
    return posted


async def _post(
    ctx: Ctx, *, loan_id: UUID, paid_on: date, amount: Decimal, locked: bool
) -> dict[str, Any] | None:
    """The posting; unlocked, None (having written nothing) when it must be made locked."""
    if locked:
        row = _visible(ctx, await repository.get(ctx.db, loan_id, lock=True))
    else:
        row = _visible(ctx, await repository.get_for_posting(ctx.db, loan_id, paid_on))
    check_if_match(ctx, row["version"])
    if row["state"] != "active":
        raise InvalidStateTransition(
            f"cannot post a repayment to a loan that is {row['state']}", state=row["state"]
        )
    not_before, what = row["disbursed_on"], "the disbursement"
    if row["last_paid_on"] is not None and row["last_paid_on"] > not_before:
        not_before, what = row["last_paid_on"], "the latest repayment already posted"
    _value_date(ctx, paid_on, "paid_on", not_before=not_before, what=what)
    states = views.states(row["schedule"])
    try:
        allocation = allocate(installments=states, amount=amount, paid_on=paid_on)
    except Overpayment as exc:
        raise ValidationFailed(
            f"more than is outstanding: at most {exc.outstanding:.2f} may be paid on {paid_on}",
            errors=[field_error(["body", "amount"], "more than is outstanding")],
            outstanding=f"{exc.outstanding:.2f}",
        ) from None
    outstanding = outstanding_principal(states)
    remaining = outstanding - allocation.principal_paid
    paid_off_on = paid_on if remaining == 0 else None
    pays_interest = allocation.interest_paid > 0
    if not locked and (paid_off_on is not None or (pays_interest and row["subsidised"])):
        return None
    # Unlocked, the posting's read found no interest subsidy programme in force in the
    # district on the value date, so there is nothing to claim and no programme to lock.
    claims = pays_interest and locked
    lines = [(line.seq, line.interest, line.principal) for line in allocation.lines]
    repayment_id = uuid7()
    allocation_json = [
        {"seq": s, "interest": f"{i:.2f}", "principal": f"{p:.2f}"} for s, i, p in lines
    ]
    audit.record(
        ctx,
        action="loan.repayment_posted",
        entity_type="loan",
        entity_id=loan_id,
        before={"outstanding_principal": outstanding},
        after={
            "repayment_id": repayment_id,
            "paid_on": paid_on,
            "amount": amount,
            "allocation": allocation_json,
            "outstanding_principal": remaining,
        },
    )
    if paid_off_on is not None:
        audit.record(
            ctx,
            action="loan.paid_off",
            entity_type="loan",
            entity_id=loan_id,
            before={"state": "active"},
            after={"state": "paid_off", "paid_off_on": paid_off_on},
        )
        outbox.emit(
            ctx,
            "loan.paid_off",
            {
                "loan_id": loan_id,
                "application_id": row["application_id"],
                "enterprise_id": row["enterprise_id"],
                "paid_off_on": paid_off_on,
            },
            district_code=row["district_code"],
        )
    # The posting and its audit entries (and the payoff's event) in one statement.
    folded_args: list[Any] = []
    folded = outbox.fold(ctx, folded_args, guard="updated")
    updated = await repository.record_repayment(
        ctx.db,
        loan_id=loan_id,
        version=row["version"],
        repayment={
            "id": repayment_id,
            "paid_on": paid_on,
            "amount": amount,
            "principal_paid": allocation.principal_paid,
            "interest_paid": allocation.interest_paid,
            "allocation": dumps_str(allocation_json),
            "created_by": ctx.principal.key_id,
        },
        lines=lines,
        now=ctx.now,
        paid_off_on=paid_off_on,
        folded=folded,
        folded_args=folded_args,
    )
    if updated is None:
        if not locked:
            return None  # another posting got there first: again, under the lock
        raise ConcurrentUpdate("the loan changed meanwhile; read it again")
    if paid_off_on is not None:
        await pledges_service.release_for_loan(
            ctx,
            application_id=row["application_id"],
            on=paid_on,
            district_code=row["district_code"],
            reason="loan paid off",
        )
    if claims:
        await subsidy_claims.on_interest_paid(
            ctx,
            loan=row,
            repayment_id=repayment_id,
            paid_on=paid_on,
            interest=allocation.interest_paid,
        )
    # The loan after the posting, from what was read and just written: no second read.
    paid = {seq: (interest, principal) for seq, interest, principal in lines}
    after = [
        s._replace(
            paid_interest=s.paid_interest + paid[s.seq][0],
            paid_principal=s.paid_principal + paid[s.seq][1],
        )
        if s.seq in paid
        else s
        for s in states
    ]
    loan_after = dict(row)
    loan_after.update(version=updated["version"], updated_at=updated["updated_at"])
    if paid_off_on is not None:
        loan_after.update(state="paid_off", paid_off_on=paid_off_on)
    return {
        "id": repayment_id,
        "paid_on": paid_on,
        "amount": f"{amount:.2f}",
        "interest_paid": f"{allocation.interest_paid:.2f}",
        "principal_paid": f"{allocation.principal_paid:.2f}",
        "allocation": allocation_json,
        "loan": views.loan(loan_after, after, ctx.today),
    }


# --- default -------------------------------------------------------------------------------


async def declare_default(ctx: Ctx, *, loan_id: UUID, as_of: date, reason: str) -> dict[str, Any]:
    row = _visible(ctx, await repository.get(ctx.db, loan_id, lock=True))
    check_if_match(ctx, row["version"])
    if row["state"] != "active":
        raise InvalidStateTransition(
            f"cannot declare default on a loan that is {row['state']}", state=row["state"]
        )
    _value_date(ctx, as_of, "as_of", not_before=row["disbursed_on"], what="the disbursement")
    states = views.states(row["schedule"])
    if as_of < ctx.today:
        states = _as_of_states(states, await repository.repayments_until(ctx.db, loan_id, as_of))
    dpd = days_past_due(states, as_of)
    if dpd < DEFAULT_AFTER_DAYS:
        raise DefaultNotAllowed(
            f"the loan is {dpd} days past due on {as_of}; default needs {DEFAULT_AFTER_DAYS}",
            days_past_due=dpd,
        )
    if not await repository.mark_defaulted(
        ctx.db, loan_id=loan_id, version=row["version"], on=as_of, reason=reason, now=ctx.now
    ):
        raise ConcurrentUpdate("the loan changed meanwhile; read it again")
    outstanding = Decimal(row["outstanding_principal"])
    audit.record(
        ctx,
        action="loan.defaulted",
        entity_type="loan",
        entity_id=loan_id,
        before={"state": "active"},
        after={
            "state": "defaulted",
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
            "loan_id": loan_id,
            "application_id": row["application_id"],
            "enterprise_id": row["enterprise_id"],
            "defaulted_on": as_of,
            "days_past_due": dpd,
            "outstanding_principal": outstanding,
            "reason": reason,
        },
        district_code=row["district_code"],
    )
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
    return views.loan(fresh, views.states(fresh["schedule"]), ctx.today)
