"""Repayments: oldest due first, interest before principal, then prepayment; days past due."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.loans.repayment import (
    Allocation,
    AllocationLine,
    InstallmentState,
    Overpayment,
    allocate,
    days_past_due,
    outstanding_for_payment,
    outstanding_principal,
)
from app.loans.schedule import RepaymentMethod, build_schedule

D = Decimal


def fresh_loan(
    principal: str = "40000.00",
    rate_bp: int = 1200,
    months: int = 4,
    method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
) -> list[InstallmentState]:
    """By default 40,000.00 at 1200 bp (1% a month), 4 months from 2026-01-15:

    seq  due         principal   interest
    1    2026-02-15  10,000.00   400.00   (40,000 × 1%)
    2    2026-03-15  10,000.00   300.00
    3    2026-04-15  10,000.00   200.00
    4    2026-05-15  10,000.00   100.00
    """
    s = build_schedule(
        principal=D(principal),
        rate_bp=rate_bp,
        term_months=months,
        disbursed_on=date(2026, 1, 15),
        method=method,
    )
    return [
        InstallmentState(i.seq, i.due_date, i.principal, i.interest, D("0.00"), D("0.00"))
        for i in s
    ]


def apply(states: list[InstallmentState], allocation: Allocation) -> list[InstallmentState]:
    by_seq = {line.seq: line for line in allocation.lines}
    out = []
    for s in states:
        line = by_seq.get(s.seq)
        if line is not None:
            s = s._replace(
                paid_interest=s.paid_interest + line.interest,
                paid_principal=s.paid_principal + line.principal,
            )
        out.append(s)
    return out


def pay(states, amount: str, paid_on: date) -> Allocation:
    return allocate(installments=states, amount=D(amount), paid_on=paid_on)


def lines(allocation: Allocation) -> list[tuple[int, str, str]]:
    return [(line.seq, f"{line.interest}", f"{line.principal}") for line in allocation.lines]


class TestDueAmountsFirst:
    def test_partial_payment_goes_to_interest_first(self):
        a = pay(fresh_loan(), "300.00", date(2026, 2, 15))
        assert lines(a) == [(1, "300.00", "0.00")]
        assert (a.interest_paid, a.principal_paid) == (D("300.00"), D("0.00"))

    def test_then_to_principal_of_the_same_instalment(self):
        # 1,000.00 on the due date: 400.00 interest, then 600.00 of its principal
        a = pay(fresh_loan(), "1000.00", date(2026, 2, 15))
        assert lines(a) == [(1, "400.00", "600.00")]
        assert (a.interest_paid, a.principal_paid) == (D("400.00"), D("600.00"))

    def test_oldest_instalment_is_cleared_before_the_next(self):
        # On 2026-03-20 instalments 1 and 2 are due: 10,500.00 clears 1 (400 + 10,000) and
        # pays 100.00 of 2's interest.
        a = pay(fresh_loan(), "10500.00", date(2026, 3, 20))
        assert lines(a) == [(1, "400.00", "10000.00"), (2, "100.00", "0.00")]

    def test_oldest_first_whatever_order_the_states_come_in(self):
        a = pay(list(reversed(fresh_loan())), "10500.00", date(2026, 3, 20))
        assert lines(a) == [(1, "400.00", "10000.00"), (2, "100.00", "0.00")]

    def test_picks_up_where_earlier_repayments_stopped(self):
        states = apply(fresh_loan(), pay(fresh_loan(), "2400.00", date(2026, 2, 15)))
        assert states[0].paid_interest == D("400.00")
        assert states[0].paid_principal == D("2000.00")
        # 9,000.00 on 2026-03-15: 8,000.00 to finish 1's principal, 300.00 to 2's interest,
        # 700.00 to 2's principal
        a = pay(states, "9000.00", date(2026, 3, 15))
        assert lines(a) == [(1, "0.00", "8000.00"), (2, "300.00", "700.00")]

    def test_payment_on_a_due_date_treats_that_instalment_as_due(self):
        a = pay(fresh_loan(), "500.00", date(2026, 3, 15))
        assert lines(a) == [(1, "400.00", "100.00")]


class TestPrepayment:
    def test_remainder_prepays_principal_of_the_next_instalment_without_its_interest(self):
        # On 2026-02-20 only instalment 1 is due (10,400.00); the other 4,600.00 prepays
        # instalment 2's principal and leaves its 300.00 interest for its due date.
        a = pay(fresh_loan(), "15000.00", date(2026, 2, 20))
        assert lines(a) == [(1, "400.00", "10000.00"), (2, "0.00", "4600.00")]
        assert (a.interest_paid, a.principal_paid) == (D("400.00"), D("14600.00"))

    def test_prepayment_before_anything_is_due(self):
        a = pay(fresh_loan(), "15000.00", date(2026, 2, 1))
        assert lines(a) == [(1, "0.00", "10000.00"), (2, "0.00", "5000.00")]

    def test_prepaid_instalment_still_owes_its_interest_when_due(self):
        states = apply(fresh_loan(), pay(fresh_loan(), "15000.00", date(2026, 2, 1)))
        # 2026-02-15: instalment 1 owes only its 400.00 interest
        assert outstanding_for_payment(states, date(2026, 2, 15)) == D("25400.00")
        a = pay(states, "1000.00", date(2026, 2, 15))
        # 400.00 interest of 1, then (1 is settled, 2 is not due) prepayment of 2's principal
        assert lines(a) == [(1, "400.00", "0.00"), (2, "0.00", "600.00")]


class TestWhatIsOwed:
    def test_outstanding_is_due_interest_plus_all_principal(self):
        states = fresh_loan()
        assert outstanding_principal(states) == D("40000.00")
        assert outstanding_for_payment(states, date(2026, 2, 14)) == D("40000.00")
        assert outstanding_for_payment(states, date(2026, 2, 15)) == D("40400.00")
        assert outstanding_for_payment(states, date(2026, 3, 15)) == D("40700.00")
        assert outstanding_for_payment(states, date(2027, 1, 1)) == D("41000.00")

    def test_paying_exactly_the_outstanding_pays_the_loan_off(self):
        # On 2026-03-15: interest of 1 and 2 (700.00) and all 40,000.00 of principal; the
        # scheduled interest of 3 and 4 is not charged.
        a = pay(fresh_loan(), "40700.00", date(2026, 3, 15))
        assert lines(a) == [
            (1, "400.00", "10000.00"),
            (2, "300.00", "10000.00"),
            (3, "0.00", "10000.00"),
            (4, "0.00", "10000.00"),
        ]
        states = apply(fresh_loan(), a)
        assert outstanding_principal(states) == D("0.00")
        # A paid-off loan owes nothing more, not even interest falling due later.
        assert outstanding_for_payment(states, date(2026, 6, 1)) == D("0.00")
        assert days_past_due(states, date(2026, 6, 1)) == 0

    def test_paying_more_than_the_outstanding_is_refused(self):
        with pytest.raises(Overpayment) as raised:
            pay(fresh_loan(), "40400.01", date(2026, 2, 20))
        assert raised.value.outstanding == D("40400.00")

    def test_paying_anything_on_a_paid_off_loan_is_refused(self):
        states = apply(fresh_loan(), pay(fresh_loan(), "40000.00", date(2026, 2, 1)))
        with pytest.raises(Overpayment) as raised:
            pay(states, "0.01", date(2026, 3, 1))
        assert raised.value.outstanding == D("0.00")

    @pytest.mark.parametrize("amount", ["0.00", "-5.00", "1.005", "NaN"])
    def test_amount_must_be_positive_fen(self, amount):
        with pytest.raises(ValueError):
            pay(fresh_loan(), amount, date(2026, 2, 15))

    def test_amounts_have_two_decimals(self):
        a = allocate(installments=fresh_loan(), amount=D("10500"), paid_on=date(2026, 3, 20))
        assert a.lines[0] == AllocationLine(1, D("400.00"), D("10000.00"))
        assert f"{a.lines[1].principal}" == "0.00"
        assert f"{a.principal_paid} {a.interest_paid}" == "10000.00 500.00"


class TestDaysPastDue:
    def test_nothing_due_yet_is_current(self):
        assert days_past_due(fresh_loan(), date(2026, 2, 14)) == 0

    def test_due_today_and_unpaid_is_zero_days_past_due(self):
        assert days_past_due(fresh_loan(), date(2026, 2, 15)) == 0

    def test_paid_up_is_current(self):
        states = apply(fresh_loan(), pay(fresh_loan(), "10700.00", date(2026, 3, 15)))
        assert states[1].settled is False and states[0].settled is True
        states = apply(states, pay(states, "10000.00", date(2026, 3, 15)))
        assert days_past_due(states, date(2026, 4, 10)) == 0

    def test_one_instalment_a_month_late(self):
        # Instalment 1 paid; instalment 2, due 2026-03-15, unpaid on 2026-04-15: March has 31
        # days (instalment 3, due that day, is not yet late).
        states = apply(fresh_loan(), pay(fresh_loan(), "10400.00", date(2026, 2, 15)))
        assert days_past_due(states, date(2026, 4, 15)) == 31

    def test_counts_from_the_oldest_unpaid_instalment(self):
        # Nothing paid: instalment 1 (2026-02-15) is the oldest, 2026-02-15 → 2026-04-20 = 64
        assert days_past_due(fresh_loan(), date(2026, 4, 20)) == 64
        # One fen of instalment 1's principal missing still counts from instalment 1.
        states = apply(fresh_loan(), pay(fresh_loan(), "10399.99", date(2026, 2, 15)))
        assert states[0].unpaid_principal == D("0.01")
        assert days_past_due(states, date(2026, 4, 20)) == 64

    def test_unpaid_interest_of_a_prepaid_instalment_makes_it_late(self):
        # Instalment 1's principal prepaid on 2026-02-01; its 400.00 interest is never paid.
        states = apply(fresh_loan(), pay(fresh_loan(), "10000.00", date(2026, 2, 1)))
        assert days_past_due(states, date(2026, 2, 25)) == 10


# -- properties ---------------------------------------------------------------------------------


@st.composite
def loans_and_payments(draw):
    states = fresh_loan(
        principal=f"{D(draw(st.integers(100_00, 10_000_000_00))).scaleb(-2)}",
        rate_bp=draw(st.integers(0, 2000)),
        months=draw(st.integers(1, 24)),
        method=draw(st.sampled_from(list(RepaymentMethod))),
    )
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, 70), st.one_of(st.just(1000), st.integers(0, 1200))),
            min_size=1,
            max_size=8,
        )
    )
    return states, steps


class TestAllocationProperties:
    @settings(max_examples=300)
    @given(loans_and_payments())
    def test_every_repayment_is_fully_and_lawfully_allocated(self, case):
        states, steps = case
        paid_on = date(2026, 1, 15)
        for gap_days, permille in steps:
            paid_on += timedelta(days=gap_days)
            owed = outstanding_for_payment(states, paid_on)
            # above 1000 ‰ the amount is more than is owed
            amount = (owed * permille / 1000).quantize(D("0.01"))
            if amount <= 0:
                continue
            if amount > owed:
                with pytest.raises(Overpayment):
                    allocate(installments=states, amount=amount, paid_on=paid_on)
                continue
            a = allocate(installments=states, amount=amount, paid_on=paid_on)
            assert a.principal_paid + a.interest_paid == amount
            by_seq = {s.seq: s for s in states}
            for line in a.lines:
                s = by_seq[line.seq]
                assert D("0.00") <= line.interest <= s.unpaid_interest
                assert D("0.00") <= line.principal <= s.unpaid_principal
                assert line.interest + line.principal > 0
                if s.due_date > paid_on:
                    assert line.interest == 0  # prepayment never pays interest
            states = apply(states, a)
            if amount == owed:
                assert outstanding_principal(states) == 0
                assert days_past_due(states, paid_on) == 0
            # Nothing due is left unpaid while a later amount was paid.
            touched = [line.seq for line in a.lines]
            for s in states:
                if touched and s.seq < max(touched) and s.due_date <= paid_on:
                    assert s.settled
