"""Repayment posting: the servicing engine's posting written back to the loan (SPEC.md 3.6).

A posting reads the loan and its schedule, computes the allocation, re-amortisation and the
loan's risk class in Python (``app.loans.allocation``), and writes the changed instalments,
the repayment, the loan and the request's audit entries and events in one statement that takes
effect only if the loan is still at the version read. First without a lock: the common posting
is then a read and one write that commits by itself. A posting that must do more (a payoff
releases the pledges, an interest payment in a subsidised district claims under the
programme's lock), or whose loan changed meanwhile, is made again from the start under the
loan's lock, in a transaction: concurrent postings to one loan queue there instead of failing.
See docs/decisions/0101-loan-servicing.md.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from app.core import audit, outbox
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import ConcurrentUpdate, InvalidStateTransition
from app.core.ids import uuid7
from app.core.jsonutil import dumps_str
from app.core.types import DATE_MAX
from app.loans import ledger, repository, rows
from app.loans.access import earliest_value_date, value_date, visible
from app.loans.allocation import post
from app.loans.classification import classify_schedule, next_change
from app.loans.domain import Loan, Posted
from app.loans.errors import Overpayment, PayoffRequired
from app.loans.ledger import (
    Posting,
    PrepaymentOption,
    Repayment,
    Schedule,
    Terms,
    outstanding_principal,
    to_fen,
    to_money,
)
from app.loans.servicing import Standing, standing
from app.models.loan import LoanState
from app.pledges import service as pledges_service
from app.subsidies import claims as subsidy_claims

# The review date of a class no passing of days can change: the last date the service
# stores (every stored date lies within what a caller may send); a review then changes nothing.
NEVER = DATE_MAX


async def repay(ctx: Ctx, *, loan_id: UUID, paid_on: date, amount: Decimal, option: str) -> Posted:
    request = _Request(loan_id, paid_on, amount, option)
    posted = await _post(ctx, request, locked=False)
    if posted is not None:
        return posted
    # Within an Idempotency-Key's unit of work (or a test's) the transaction is already open.
    async with nullcontext() if ctx.db.in_transaction() else ctx.db.transaction():
        posted = await _post(ctx, request, locked=True)
        await outbox.flush(ctx)
    assert posted is not None
    return posted


class _Request(NamedTuple):
    loan_id: UUID
    paid_on: date
    amount: Decimal
    option: str


async def _read_checked(ctx: Ctx, request: _Request, *, locked: bool) -> Any:
    """The loan, visible to the caller, active, at the If-Match version, and the value date
    not before its disbursement or latest posting nor in the future."""
    loan_id, paid_on = request.loan_id, request.paid_on
    if locked:
        row = visible(ctx, await repository.get(ctx.db, loan_id, lock=True))
    else:
        row = visible(ctx, await repository.get_for_posting(ctx.db, loan_id, paid_on))
    check_if_match(ctx, row["version"])
    if row["state"] != LoanState.ACTIVE:
        raise InvalidStateTransition(
            f"cannot post a repayment to a loan that is {row['state']}", state=row["state"]
        )
    not_before, what = earliest_value_date(row)
    value_date(ctx, paid_on, "paid_on", not_before=not_before, what=what)
    return row


def _engine_post(
    terms: Terms, schedule: Schedule, paid_on: date, amount: Decimal, option: str
) -> Posting:
    try:
        return post(schedule, terms, Repayment(paid_on, to_fen(amount), PrepaymentOption(option)))
    except ledger.Overpayment as exc:
        payoff = f"{to_money(exc.payoff):.2f}"
        raise Overpayment(
            f"more than the payoff amount: at most {payoff} may be paid on {paid_on}",
            payoff_amount=payoff,
        ) from None
    except ledger.PayoffRequired as exc:
        payoff = f"{to_money(exc.payoff):.2f}"
        raise PayoffRequired(
            f"this would repay all principal but not the interest accrued; "
            f"{payoff} closes the loan on {paid_on}",
            payoff_amount=payoff,
        ) from None


async def _post(ctx: Ctx, request: _Request, *, locked: bool) -> Posted | None:
    """The posting; unlocked, None (having written nothing) when it must be made locked."""
    row = await _read_checked(ctx, request, locked=locked)
    paid_on, amount, option = request.paid_on, request.amount, request.option
    terms = rows.terms(row, ctx.settings.penalty_uplift)
    before = rows.schedule(row["schedule"])
    posting = _engine_post(terms, before, paid_on, amount, option)
    pays_interest = posting.interest_paid > 0
    if not locked and (posting.paid_off or (pays_interest and row["subsidised"])):
        return None
    # What the loan owes today after the posting, for the write and the answer alike: the loan
    # is active (a default moves it out of that state for good) or, paid off, shown as such.
    now = standing(posting.schedule, ctx.today, terms, defaulted=False)
    allocation_json = rows.allocation_json(posting)
    repayment = _repayment(ctx, request, before, posting, allocation_json)
    changes = _record(ctx, row, before, posting, now, repayment, allocation_json)
    folded_args: list[Any] = []
    folded = outbox.fold(ctx, folded_args, guard="updated")
    updated = await repository.record_repayment(
        ctx.db,
        loan_id=request.loan_id,
        version=row["version"],
        repayment=repayment,
        changed=changes["changed"],
        last_seq=posting.schedule[-1].seq,
        loan=changes["loan"],
        folded=folded,
        folded_args=folded_args,
    )
    if updated is None:
        if not locked:
            return None  # another posting got there first: again, under the lock
        raise ConcurrentUpdate("the loan changed meanwhile; read it again")
    claims = pays_interest and locked
    await _consequences(ctx, row, posting, repayment["id"], paid_on, claims=claims)
    loan = Loan.posted(row, changes["loan"], updated, posting.schedule, terms, now)
    return Posted(
        repayment["id"],
        paid_on,
        amount,
        repayment["principal_paid"],
        repayment["interest_paid"],
        repayment["penalty_interest_paid"],
        repayment["prepaid_principal"],
        option,
        allocation_json,
        loan,
    )


def _repayment(
    ctx: Ctx,
    request: _Request,
    before: Schedule,
    posting: Posting,
    allocation_json: list[dict[str, Any]],
) -> dict[str, Any]:
    """The repayment as stored: ``amount`` as sent, its parts in fen, and the length of the
    schedule it was posted on."""
    return {
        "id": uuid7(),
        "paid_on": request.paid_on,
        "amount": request.amount,
        "principal_paid": posting.principal_paid,
        "interest_paid": posting.interest_paid,
        "penalty_interest_paid": posting.penalty_paid,
        "prepaid_principal": posting.prepaid_principal,
        "prepayment_option": request.option,
        "allocation": dumps_str(allocation_json),
        "installments_before": before[-1].seq,
        "created_by": ctx.principal.key_id,
    }


async def _consequences(
    ctx: Ctx, row: Any, posting: Posting, repayment_id: UUID, paid_on: date, *, claims: bool
) -> None:
    """A payoff releases the pledges; interest paid claims under a subsidy programme. (Unlocked,
    the posting's read found no interest subsidy programme in force in the district on the
    value date, so there is nothing to claim and no programme to lock.)"""
    if posting.paid_off:
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
            interest=to_money(posting.interest_paid),
        )


def _record(
    ctx: Ctx,
    row: Any,
    before: Schedule,
    posting: Posting,
    now: Standing,
    repayment: dict[str, Any],
    allocation_json: list[dict[str, Any]],
) -> dict[str, Any]:
    """Queue the posting's audit entries and events; return what the write changes."""
    after, paid_on = posting.schedule, repayment["paid_on"]
    # Only a prepayment re-amortises, and only a payoff rewrites its current instalment.
    reamortised = bool(posting.prepaid_principal) or posting.paid_off
    paid_off_on = paid_on if posting.paid_off else None
    if posting.paid_off:
        cls, review_on = "normal", NEVER
    else:
        cls = classify_schedule(after, now.on, defaulted=False).value
        review_on = next_change(after, now.on, defaulted=False) or NEVER
    audit.record(
        ctx,
        action="loan.repayment_posted",
        entity_type="loan",
        entity_id=row["id"],
        before={
            "outstanding_principal": to_money(outstanding_principal(before)),
            "maturity_date": before[-1].due_date,
            "installments": before[-1].seq,
        },
        after={
            "repayment_id": repayment["id"],
            "paid_on": paid_on,
            "amount": repayment["amount"],
            "prepayment_option": repayment["prepayment_option"],
            "allocation": allocation_json,
            "prepaid_principal": to_money(posting.prepaid_principal),
            # No instalment is ever paid more principal than it has: never below 0, so the
            # standing's figure is the schedule's.
            "outstanding_principal": to_money(now.outstanding_principal),
            "maturity_date": after[-1].due_date,
            "installments": after[-1].seq,
            # What a prepayment's re-amortisation did: without it an examiner could not tell
            # the later instalments' scheduled amounts (nor a shortened term) from the trail.
            "rescheduled": _rescheduled(before, after) if reamortised else [],
        },
    )
    if paid_off_on is not None:
        _announce_payoff(ctx, row, paid_off_on)
    announce_class_change(ctx, row, cls, reason="repayment")
    return {
        # The schedule after a posting is the one before, up to the instalments a shortened
        # term or a payoff dropped from its end (``last_seq``): compared in step.
        "changed": [i for i, was in zip(after, before, strict=False) if i != was],
        "loan": {
            "now": ctx.now,
            "paid_off_on": paid_off_on,
            "maturity_date": after[-1].due_date,
            "classification": cls,
            "classification_review_on": review_on,
        },
    }


def _rescheduled(before: Schedule, after: Schedule) -> list[dict[str, Any]]:
    """The instalments whose scheduled principal or interest a prepayment's re-amortisation
    changed, as the loan's schedule now shows them (a shortened term's dropped instalments are
    told by ``installments``)."""
    return [
        {
            "seq": i.seq,
            "due_date": i.due_date,
            "principal": f"{to_money(i.principal):.2f}",
            "interest": f"{to_money(i.interest):.2f}",
        }
        for i, was in zip(after, before, strict=False)
        if (i.principal, i.interest, i.due_date) != (was.principal, was.interest, was.due_date)
    ]


def _announce_payoff(ctx: Ctx, row: Any, paid_off_on: date) -> None:
    audit.record(
        ctx,
        action="loan.paid_off",
        entity_type="loan",
        entity_id=row["id"],
        before={"state": LoanState.ACTIVE},
        after={"state": LoanState.PAID_OFF, "paid_off_on": paid_off_on},
    )
    outbox.emit(
        ctx,
        "loan.paid_off",
        {
            "loan_id": row["id"],
            "application_id": row["application_id"],
            "enterprise_id": row["enterprise_id"],
            "paid_off_on": paid_off_on,
        },
        district_code=row["district_code"],
    )


def announce_class_change(ctx: Ctx, row: Any, cls: str, *, reason: str) -> bool:
    """Queue ``loan.classification_changed`` (and its audit entry) when ``cls`` differs from
    the class last announced; the caller stores ``cls`` in the same transaction."""
    if cls == row["classification"]:
        return False
    change = {"classification": cls, "as_of": ctx.today}
    audit.record(
        ctx,
        action="loan.classification_changed",
        entity_type="loan",
        entity_id=row["id"],
        before={"classification": row["classification"]},
        after={**change, "reason": reason},
    )
    outbox.emit(
        ctx,
        "loan.classification_changed",
        {
            "loan_id": row["id"],
            "application_id": row["application_id"],
            "enterprise_id": row["enterprise_id"],
            "previous_classification": row["classification"],
            **change,
            "reason": reason,
        },
        district_code=row["district_code"],
    )
    return True
