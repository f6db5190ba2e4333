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
from app.loans import rows
from app.loans.ledger import Schedule, Terms
from app.loans.servicing import Standing, standing

_CENTS = [f"{c:02d}" for c in range(100)]


def money_fen(fen: int) -> str:
    """Fen as the wire's money text, two decimals."""
    if fen == 0:  # most paid amounts of a schedule
        return "0.00"
    return f"{fen // 100}.{_CENTS[fen % 100]}"


def state_as_of(loan: Mapping[str, Any], as_of: date) -> str:
    """The loan's state on ``as_of``: what it is today only from the date it became so; before
    that it was active (a loan is disbursed active, and ends paid off or defaulted)."""
    paid_off_on, defaulted_on = loan["paid_off_on"], loan["defaulted_on"]
    if paid_off_on is not None and paid_off_on <= as_of:
        return "paid_off"
    if defaulted_on is not None and defaulted_on <= as_of:
        return "defaulted"
    return "active"


def loan(
    row: Mapping[str, Any], schedule: Schedule, as_of: date, uplift: Decimal
) -> dict[str, Any]:
    """The loan as of ``as_of``, with ``schedule`` as it stood then."""
    terms = rows.terms(row, uplift)
    defaulted = state_as_of(row, as_of) == "defaulted"
    return shown(row, schedule, terms, standing(schedule, as_of, terms, defaulted=defaulted))


def shown(
    row: Mapping[str, Any], schedule: Schedule, terms: Terms, now: Standing
) -> dict[str, Any]:
    """The loan as of ``now.on``, with ``schedule`` as it stood then and ``now`` what it owed
    then (``standing``, defaulted when the loan was): for a caller that knows them already."""
    as_of = now.on
    state = state_as_of(row, as_of)
    paid_off = state == "paid_off"
    defaulted = state == "defaulted"
    m = money_fen
    return {
        "id": row["id"],
        "application_id": row["application_id"],
        "enterprise_id": row["enterprise_id"],
        "relationship_manager_id": row["relationship_manager_id"],
        "district_code": row["district_code"],
        "industry": row["industry"],
        "principal": m(terms.principal),
        "outstanding_principal": m(now.outstanding_principal),
        "rate_bp": row["rate_bp"],
        "repayment_method": row["repayment_method"],
        "term_months": row["term_months"],
        "disbursed_on": row["disbursed_on"],
        "maturity_date": schedule[-1].due_date if schedule else row["maturity_date"],
        "state": state,
        "as_of": as_of,
        "days_past_due": 0 if paid_off else now.days_past_due,
        "penalty_interest_due": m(now.penalty_interest_due),
        "classification": "normal" if paid_off else now.classification.value,
        # Paid off or defaulted only from the day it happened.
        "paid_off_on": row["paid_off_on"] if paid_off else None,
        "defaulted_on": row["defaulted_on"] if defaulted else None,
        "default_reason": row["default_reason"] if defaulted else None,
        "securitized_on": row["securitized_on"],
        "schedule": _instalments(schedule),
        "created_at": to_shanghai(row["created_at"]),
        "updated_at": to_shanghai(row["updated_at"]),
        "version": row["version"],
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


def page(
    records: Sequence[Mapping[str, Any]], limit: int, as_of: date, uplift: Decimal
) -> dict[str, Any]:
    """A page of loans from ``limit + 1`` rows newest first (see ``app.core.schemas.paged``)."""
    shown = records[:limit]
    return {
        "items": [loan(r, rows.schedule(r["schedule"]), as_of, uplift) for r in shown],
        "next_cursor": encode_cursor(shown[-1]["id"]) if len(records) > limit else None,
    }
