"""How a loan is shown: the wire form of ``LoanOut`` (and of the answers that hold one), built
from the domain objects (``app.loans.domain``).

Loans are the largest answers on the hot paths (a repayment answers with the whole schedule,
a list with fifty of them), and building a ``LoanOut`` of two dozen instalment models, then
serialising it field by field, cost more than everything else a posting does in Python. The
view builds the JSON document directly from the loan, in exactly the form ``LoanOut`` gives
(money with two decimals, dates as ISO dates, timestamps at the Asia/Shanghai offset), and
``tests/loans/test_views.py`` holds the two to each other: a view validates as a ``LoanOut``
and serialises back to itself, field for field. ``LoanOut`` stays the documented schema.
"""

from __future__ import annotations

from typing import Any

from app.core.schemas import to_shanghai
from app.loans.domain import Loan, LoanPage, Payoff, Posted
from app.loans.ledger import Schedule
from app.models.loan import LoanState

_CENTS = [f"{c:02d}" for c in range(100)]


def money_fen(fen: int) -> str:
    """Fen as the wire's money text, two decimals."""
    if fen == 0:  # most paid amounts of a schedule
        return "0.00"
    return f"{fen // 100}.{_CENTS[fen % 100]}"


def loan(loan: Loan) -> dict[str, Any]:
    """The loan as of ``loan.as_of``, with its schedule as it stood then."""
    now = loan.standing
    as_of = now.on
    state = loan.state_on(as_of)
    paid_off = state == LoanState.PAID_OFF
    defaulted = state == LoanState.DEFAULTED
    schedule = loan.schedule
    m = money_fen
    return {
        "id": loan.id,
        "application_id": loan.application_id,
        "enterprise_id": loan.enterprise_id,
        "relationship_manager_id": loan.relationship_manager_id,
        "district_code": loan.district_code,
        "industry": loan.industry,
        "principal": m(loan.terms.principal),
        "outstanding_principal": m(now.outstanding_principal),
        "rate_bp": loan.rate_bp,
        "repayment_method": loan.repayment_method,
        "term_months": loan.term_months,
        "disbursed_on": loan.disbursed_on,
        "maturity_date": schedule[-1].due_date if schedule else loan.maturity_date,
        "state": state,
        "as_of": as_of,
        "days_past_due": 0 if paid_off else now.days_past_due,
        "penalty_interest_due": m(now.penalty_interest_due),
        "classification": "normal" if paid_off else now.classification.value,
        # Paid off or defaulted only from the day it happened.
        "paid_off_on": loan.paid_off_on if paid_off else None,
        "defaulted_on": loan.defaulted_on if defaulted else None,
        "default_reason": loan.default_reason if defaulted else None,
        "securitized_on": loan.securitized_on,
        "schedule": _instalments(schedule),
        "created_at": to_shanghai(loan.created_at),
        "updated_at": to_shanghai(loan.updated_at),
        "version": loan.version,
    }


def _instalments(schedule: Schedule) -> list[dict[str, Any]]:
    # ``money_fen`` written out in place: the schedule is most of a loan's answer, and a call
    # per amount was a fifth of its cost. Most paid amounts are nothing.
    c = _CENTS
    return [
        {
            "seq": seq,
            "due_date": due_date,
            "principal": f"{p // 100}.{c[p % 100]}",
            "interest": f"{i // 100}.{c[i % 100]}",
            "paid_principal": f"{pp // 100}.{c[pp % 100]}" if pp else "0.00",
            "paid_interest": f"{pi // 100}.{c[pi % 100]}" if pi else "0.00",
            "paid_penalty_interest": f"{pn // 100}.{c[pn % 100]}" if pn else "0.00",
        }
        for seq, due_date, p, i, pp, pi, pn, _, _ in schedule
    ]


def page(loans: LoanPage) -> dict[str, Any]:
    return {"items": [loan(item) for item in loans.items], "next_cursor": loans.next_cursor}


def repayment(posted: Posted) -> dict[str, Any]:
    """The repayment as posted, with its loan after it."""
    m = money_fen
    return {
        "id": posted.id,
        "paid_on": posted.paid_on,
        "amount": f"{posted.amount:.2f}",
        "interest_paid": m(posted.interest_paid),
        "principal_paid": m(posted.principal_paid),
        "penalty_interest_paid": m(posted.penalty_interest_paid),
        "prepaid_principal": m(posted.prepaid_principal),
        "prepayment_option": posted.prepayment_option,
        "allocation": posted.allocation,
        "loan": loan(posted.loan),
    }


def payoff(payoff: Payoff) -> dict[str, Any]:
    quote, m = payoff.quote, money_fen
    return {
        "loan_id": payoff.loan_id,
        "on": quote.on,
        "amount": m(quote.amount),
        "overdue_principal": m(quote.overdue_principal),
        "overdue_interest": m(quote.overdue_interest),
        "penalty_interest": m(quote.penalty_interest),
        "accrued_interest": m(quote.accrued_interest),
        "outstanding_principal": m(quote.outstanding_principal),
    }
