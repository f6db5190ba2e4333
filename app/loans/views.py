"""How a loan is shown: its row and schedule as the wire form of ``LoanOut``.

Loans are the largest answers on the hot paths (a repayment answers with the whole schedule,
a list with fifty of them), and building a ``LoanOut`` of two dozen instalment models, then
serialising it field by field, cost more than everything else a posting does in Python. The
view builds the JSON document directly from the row, in exactly the form ``LoanOut`` gives
(money with two decimals, dates as ISO dates, timestamps at the Asia/Shanghai offset), and
``tests/loans/test_views.py`` holds the two to each other: a view validates as a ``LoanOut``
and serialises back to itself, field for field. ``LoanOut`` stays the documented schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from app.core.schemas import encode_cursor, to_shanghai
from app.core.views import money
from app.loans.repayment import InstallmentState, days_past_due, outstanding_principal


def states(schedule: str | None) -> list[InstallmentState]:
    """The schedule as the loan's read returns it (``app.loans.repository.SCHEDULE``)."""
    if not schedule:
        return []
    # Most of a schedule is not yet paid: its zeros need no parsing.
    zero, parse_date, make = _ZERO, date.fromisoformat, InstallmentState
    out = []
    for part in schedule.split(";"):
        seq, due, principal, interest, paid_principal, paid_interest = part.split(",")
        out.append(
            make(
                int(seq),
                parse_date(due),
                Decimal(principal),
                Decimal(interest),
                zero if paid_principal == "0.00" else Decimal(paid_principal),
                zero if paid_interest == "0.00" else Decimal(paid_interest),
            )
        )
    return out


_ZERO = Decimal("0.00")


def state_as_of(loan: Mapping[str, Any], as_of: date) -> str:
    """The loan's state on ``as_of``: what it is today only from the date it became so; before
    that it was active (a loan is disbursed active, and ends paid off or defaulted)."""
    paid_off_on, defaulted_on = loan["paid_off_on"], loan["defaulted_on"]
    if paid_off_on is not None and paid_off_on <= as_of:
        return "paid_off"
    if defaulted_on is not None and defaulted_on <= as_of:
        return "defaulted"
    return "active"


def loan(row: Mapping[str, Any], schedule: Sequence[InstallmentState], as_of: date) -> dict:
    """The loan as of ``as_of``, with ``schedule`` as it stood then."""
    state = state_as_of(row, as_of)
    paid_off = state == "paid_off"
    defaulted = state == "defaulted"
    outstanding = outstanding_principal(schedule)
    m = money
    return {
        "id": row["id"],
        "application_id": row["application_id"],
        "enterprise_id": row["enterprise_id"],
        "relationship_manager_id": row["relationship_manager_id"],
        "district_code": row["district_code"],
        "industry": row["industry"],
        "principal": money(row["principal"]),
        "outstanding_principal": m(outstanding),
        "rate_bp": row["rate_bp"],
        "repayment_method": row["repayment_method"],
        "term_months": row["term_months"],
        "disbursed_on": row["disbursed_on"],
        "maturity_date": row["maturity_date"],
        "state": state,
        "as_of": as_of,
        "days_past_due": 0 if paid_off else days_past_due(schedule, as_of, outstanding=outstanding),
        # Paid off or defaulted only from the day it happened.
        "paid_off_on": row["paid_off_on"] if paid_off else None,
        "defaulted_on": row["defaulted_on"] if defaulted else None,
        "default_reason": row["default_reason"] if defaulted else None,
        "securitized_on": row["securitized_on"],
        "schedule": [
            {
                "seq": s.seq,
                "due_date": s.due_date,
                "principal": m(s.principal),
                "interest": m(s.interest),
                "paid_principal": m(s.paid_principal),
                "paid_interest": m(s.paid_interest),
            }
            for s in schedule
        ],
        "created_at": to_shanghai(row["created_at"]),
        "updated_at": to_shanghai(row["updated_at"]),
        "version": row["version"],
    }


def page(rows: Sequence[Mapping[str, Any]], limit: int, as_of: date) -> dict:
    """A page of loans from ``limit + 1`` rows newest first (see ``app.core.schemas.paged``)."""
    shown = rows[:limit]
    return {
        "items": [loan(row, states(row["schedule"]), as_of) for row in shown],
        "next_cursor": encode_cursor(shown[-1]["id"]) if len(rows) > limit else None,
    }
