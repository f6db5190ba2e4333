"""The loan view is the wire form of ``LoanOut`` (and the repayment and payoff views of
``RepaymentOut`` and ``PayoffOut``): it validates as one and serialises back to itself, for
loans of every method, state and amount, so the documented schema and what the API sends
cannot drift apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.core.views import JsonView
from app.loans import ledger, payoff, rows, views
from app.loans.domain import Loan, Payoff, Posted
from app.loans.ledger import Repayment, Terms, to_fen, to_money
from app.loans.schedule import RepaymentMethod
from app.loans.schemas import LoanOut, PayoffOut, RepaymentOut
from app.loans.servicing import initial_schedule, post, standing

UPLIFT = Decimal("0.5")

DISBURSED = date(2026, 1, 31)


def _row(principal: Decimal, method: RepaymentMethod, months: int, **extra: object) -> dict:
    created = datetime(2026, 1, 31, 2, 15, 7, 123456, tzinfo=UTC)
    return {
        "id": uuid4(),
        "application_id": uuid4(),
        "enterprise_id": uuid4(),
        "relationship_manager_id": "RM-07",
        "district_code": "440305",
        "industry": "I65",
        "principal": principal,
        "rate_bp": 385,
        "repayment_method": method.value,
        "term_months": months,
        "disbursed_on": DISBURSED,
        "maturity_date": DISBURSED + timedelta(days=30 * months),
        "state": "active",
        "paid_off_on": None,
        "defaulted_on": None,
        "default_reason": None,
        "securitized_on": None,
        "classification": "normal",
        "created_at": created,
        "updated_at": created + timedelta(days=40),
        "version": 4,
        **extra,
    }


def _wire(view: dict) -> dict:
    return orjson.loads(JsonView(view).body)


@settings(max_examples=150, deadline=None)
@given(
    fen=st.integers(min_value=1, max_value=99_999_999_999),
    method=st.sampled_from(list(RepaymentMethod)),
    months=st.integers(min_value=1, max_value=60),
    paid_share=st.integers(min_value=0, max_value=100),
    days_later=st.integers(min_value=0, max_value=2_000),
    ending=st.sampled_from([None, "paid_off", "defaulted"]),
)
def test_a_loan_view_is_exactly_its_loan_out(fen, method, months, paid_share, days_later, ending):
    principal = Decimal(fen) / 100
    terms = Terms(to_fen(principal), 385, method, DISBURSED, months)
    schedule = initial_schedule(terms)
    # The schedule in the form the loan's read gives it.
    schedule = rows.schedule(
        orjson.dumps(
            [
                [i.seq, i.due_date.toordinal(), i.principal, i.interest, 0, 0, 0, 0, None]
                for i in schedule
            ]
        ).decode()
    )
    as_of = DISBURSED + timedelta(days=days_later)
    paid_on = DISBURSED + timedelta(days=paid_share)
    amount = payoff.quote(schedule, paid_on, terms).amount * paid_share // 100
    if amount > 0:
        schedule = post(schedule, terms, Repayment(paid_on, amount)).schedule
    extra: dict[str, object] = {}
    if ending == "paid_off":
        extra["paid_off_on"] = DISBURSED + timedelta(days=100)
    elif ending == "defaulted":
        extra.update(defaulted_on=DISBURSED + timedelta(days=400), default_reason="in default")
    loan = Loan.of(_row(principal, method, months, **extra), schedule, as_of, UPLIFT)
    view = views.loan(loan)

    wire = _wire(view)
    assert LoanOut.model_validate(wire).model_dump(mode="json") == wire
    assert set(wire) == set(LoanOut.model_fields)
    assert len(wire["schedule"]) <= months


def test_what_the_view_shows_as_of_a_date():
    row = _row(
        Decimal("1200000.00"),
        RepaymentMethod.INTEREST_ONLY_BULLET,
        12,
        defaulted_on=date(2026, 9, 1),
        default_reason="in default",
    )
    due = date(2026, 2, 28).toordinal()
    states = rows.schedule(f"[[1,{due},120000000,385000,0,0,0,0,null]]")
    before = _wire(views.loan(Loan.of(row, states, date(2026, 8, 31), UPLIFT)))
    assert (before["state"], before["defaulted_on"], before["default_reason"]) == (
        "active",
        None,
        None,
    )
    assert before["days_past_due"] == (date(2026, 8, 31) - date(2026, 2, 28)).days
    # Overdue since 28 February: 184 days on 31 August, substandard; penalty interest
    # 1,200,000 × 0.0385 × 1.5 / 360 × 184 = 35,420.00.
    assert before["classification"] == "substandard"
    assert before["penalty_interest_due"] == "35420.00"
    after = _wire(views.loan(Loan.of(row, states, date(2026, 9, 1), UPLIFT)))
    assert (after["state"], after["defaulted_on"]) == ("defaulted", "2026-09-01")
    # Timestamps at the Asia/Shanghai offset, money with two decimals, ids as strings.
    assert after["created_at"] == "2026-01-31T10:15:07.123456+08:00"
    assert after["principal"] == "1200000.00"
    assert after["outstanding_principal"] == "1200000.00"
    assert after["schedule"][0]["interest"] == "3850.00"
    assert after["id"] == str(row["id"])


@settings(max_examples=100, deadline=None)
@given(
    fen=st.integers(min_value=1, max_value=99_999_999_999),
    method=st.sampled_from(list(RepaymentMethod)),
    months=st.integers(min_value=1, max_value=60),
    days_later=st.integers(min_value=0, max_value=2_000),
    paid_share=st.integers(min_value=1, max_value=100),
)
def test_a_repayment_view_is_exactly_its_repayment_out(fen, method, months, days_later, paid_share):
    principal = Decimal(fen) / 100
    terms = Terms(fen, 385, method, DISBURSED, months)
    before = initial_schedule(terms)
    paid_on = DISBURSED + timedelta(days=days_later)
    quote = payoff.quote(before, paid_on, terms)
    amount = max(1, quote.amount * paid_share // 100)
    try:
        posting = post(before, terms, Repayment(paid_on, amount))
    except ledger.PayoffRequired:  # all the principal but not the interest: refused
        assume(False)
    row = _row(principal, method, months)
    written = {
        "paid_off_on": paid_on if posting.paid_off else None,
        "maturity_date": posting.schedule[-1].due_date,
        "classification": "normal",
    }
    updated = {"version": row["version"] + 1, "updated_at": row["updated_at"]}
    now = standing(posting.schedule, paid_on, terms, defaulted=False)
    loan = Loan.posted(row, written, updated, posting.schedule, terms, now)
    posted = Posted(
        uuid4(),
        paid_on,
        to_money(amount),
        posting.principal_paid,
        posting.interest_paid,
        posting.penalty_paid,
        posting.prepaid_principal,
        "reduce_installment",
        rows.allocation_json(posting),
        loan,
    )

    wire = _wire(views.repayment(posted))
    assert RepaymentOut.model_validate(wire).model_dump(mode="json") == wire
    assert set(wire) == set(RepaymentOut.model_fields)
    assert wire["loan"]["state"] == ("paid_off" if posting.paid_off else "active")
    assert wire["loan"]["version"] == row["version"] + 1
    payoff_view = _wire(views.payoff(Payoff(row["id"], quote)))
    assert PayoffOut.model_validate(payoff_view).model_dump(mode="json") == payoff_view
    assert set(payoff_view) == set(PayoffOut.model_fields)
