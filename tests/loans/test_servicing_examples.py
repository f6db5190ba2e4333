"""The servicing engine on loans worked by hand; every figure is computed in the comments.

All three loans: 1,200,000.00 at 350 bp (3.50% a year), 12 months, disbursed 2026-01-15, due
on the 15th. A month's interest on 1,200,000.00 is 1,200,000 × 0.035 / 12 = 3,500.00; a day's
interest is 1,200,000 × 0.035 / 360 = 116.666…; penalty interest runs at 0.035 × 1.5 = 5.25%
a year, / 360 a day.
"""

from datetime import date
from decimal import Decimal

import pytest

from app.loans import payoff
from app.loans.accrual import days_past_due, penalty_interest_due
from app.loans.classification import Classification, classify, next_change
from app.loans.ledger import (
    Overpayment,
    PrepaymentOption,
    Repayment,
    Terms,
    to_fen,
)
from app.loans.schedule import RepaymentMethod
from app.loans.servicing import initial_schedule, post, replay, standing

BULLET = RepaymentMethod.INTEREST_ONLY_BULLET
ANNUITY = RepaymentMethod.EQUAL_INSTALLMENT
LEVEL_PRINCIPAL = RepaymentMethod.EQUAL_PRINCIPAL
SHORTEN = PrepaymentOption.SHORTEN_TERM


def loan(method: RepaymentMethod) -> Terms:
    return Terms(
        principal=to_fen(Decimal("1200000.00")),
        rate_bp=350,
        method=method,
        disbursed_on=date(2026, 1, 15),
        term_months=12,
    )


def fen(amount: str) -> int:
    return to_fen(Decimal(amount))


def pay(on: date, amount: str, option=PrepaymentOption.REDUCE_INSTALLMENT) -> Repayment:
    return Repayment(on, fen(amount), option)


class TestEarlyPayment:
    def test_paying_the_instalment_two_days_early_leaves_nothing_past_due(self):
        terms = loan(ANNUITY)
        # The level instalment is 101,905.96: interest 3,500.00 + principal 98,405.96.
        schedule, (posting,) = replay(terms, [pay(date(2026, 2, 13), "101905.96")])
        line = posting.lines[0]
        assert (line.seq, line.interest, line.principal) == (1, fen("3500.00"), fen("98405.96"))
        assert posting.prepaid_principal == 0
        # Instalment 1 is settled; instalment 2 falls due on 15 March: nothing is late on
        # 1 March, nor on 14 March.
        assert days_past_due(schedule, date(2026, 3, 1)) == 0
        assert days_past_due(schedule, date(2026, 3, 15)) == 0
        assert days_past_due(schedule, date(2026, 3, 16)) == 1
        assert standing(schedule, date(2026, 3, 1), terms, defaulted=False).classification == (
            Classification.NORMAL
        )


class TestPrepayment:
    def test_prepaying_600000_halves_the_later_interest(self):
        terms = loan(BULLET)
        # On 10 February the current instalment is the first (due 15 February): its interest
        # 3,500.00 (it has no principal), then 600,000.00 prepays principal. Instalments 2–12
        # are re-amortised on 600,000.00: interest 600,000 × 0.035 / 12 = 1,750.00 each, all
        # principal with the 12th. Before: 11 × 3,500.00 = 38,500.00; after 19,250.00.
        before = initial_schedule(terms)
        schedule, (posting,) = replay(terms, [pay(date(2026, 2, 10), "603500.00")])
        assert [(ln.seq, ln.interest, ln.principal) for ln in posting.lines] == [
            (1, fen("3500.00"), 0)
        ]
        assert posting.prepaid_principal == fen("600000.00")
        assert sum(i.interest for i in before[1:]) == fen("38500.00")
        assert [i.interest for i in schedule[1:]] == [fen("1750.00")] * 11
        assert schedule[-1].principal == fen("600000.00")
        # The schedule still sums to the principal: 600,000.00 prepaid on the first, 600,000.00
        # with the last.
        assert sum(i.principal for i in schedule) == terms.principal

    def test_shorten_term_drops_the_last_instalments(self):
        terms = loan(LEVEL_PRINCIPAL)
        # Equal principal: 100,000.00 a month. On 10 February: instalment 1's interest
        # 3,500.00 and principal 100,000.00, then 500,000.00 prepaid: 603,500.00. The balance
        # after it, 1,100,000 − 500,000 = 600,000.00, at 100,000.00 a month takes 6 more
        # instalments (2–7), so 8–12 are dropped. Interest on the declining balance:
        # 600,000 → 1,750.00; 500,000 → 1,458.333… → 1,458.33; 400,000 → 1,166.666… →
        # 1,166.67; 300,000 → 875.00; 200,000 → 583.333… → 583.33; 100,000 → 291.666… → 291.67.
        schedule, (posting,) = replay(terms, [pay(date(2026, 2, 10), "603500.00", SHORTEN)])
        assert posting.prepaid_principal == fen("500000.00")
        assert len(schedule) == 7
        assert schedule[-1].due_date == date(2026, 8, 15)
        assert [i.principal for i in schedule[1:]] == [fen("100000.00")] * 6
        assert [i.interest for i in schedule[1:]] == [
            fen(x) for x in ("1750.00", "1458.33", "1166.67", "875.00", "583.33", "291.67")
        ]
        assert sum(i.principal for i in schedule) == terms.principal

    def test_reduce_installment_keeps_the_number_and_lowers_each(self):
        terms = loan(LEVEL_PRINCIPAL)
        # The same 500,000.00 prepaid with reduce_installment: 600,000.00 over the 11 left is
        # 54,545.4545… → 54,545.45 each, the last 600,000 − 10 × 54,545.45 = 54,545.50.
        schedule, _ = replay(terms, [pay(date(2026, 2, 10), "603500.00")])
        assert len(schedule) == 12
        assert [i.principal for i in schedule[1:-1]] == [fen("54545.45")] * 10
        assert schedule[-1].principal == fen("54545.50")
        # Instalment 2's interest: 600,000 × 0.035 / 12 = 1,750.00.
        assert schedule[1].interest == fen("1750.00")


class TestPayoff:
    def test_payoff_amount_and_paying_it(self):
        terms = loan(BULLET)
        schedule, _ = replay(terms, [pay(date(2026, 2, 15), "3500.00")])
        # On 1 March: nothing overdue; the current period began on 15 February, 14 days ago:
        # 1,200,000 × 0.035 / 360 × 14 = 1,633.333… → 1,633.33. Payoff 1,201,633.33.
        q = payoff.quote(schedule, date(2026, 3, 1), terms)
        assert (q.accrued_interest, q.outstanding_principal) == (fen("1633.33"), terms.principal)
        assert q.overdue_principal == q.overdue_interest == q.penalty_interest == 0
        assert q.amount == fen("1201633.33")
        posting = post(schedule, terms, Repayment(date(2026, 3, 1), q.amount))
        assert posting.paid_off
        # Instalment 2 takes the accrued interest instead of its 3,500.00; the schedule ends
        # with it, and still sums to the principal.
        assert [(ln.seq, ln.interest, ln.principal) for ln in posting.lines] == [
            (2, fen("1633.33"), 0)
        ]
        assert posting.prepaid_principal == terms.principal
        assert len(posting.schedule) == 2
        assert all(i.settled for i in posting.schedule)
        assert sum(i.principal for i in posting.schedule) == terms.principal

    def test_one_fen_more_is_an_overpayment(self):
        terms = loan(BULLET)
        schedule = initial_schedule(terms)
        # On 25 January: 10 days since disbursement, 1,200,000 × 0.035 / 360 × 10 =
        # 1,166.666… → 1,166.67; payoff 1,201,166.67.
        with pytest.raises(Overpayment) as exc:
            post(schedule, terms, pay(date(2026, 1, 25), "1201166.68"))
        assert exc.value.payoff == fen("1201166.67")

    def test_a_fen_under_the_payoff_leaves_a_fen_of_principal(self):
        terms = loan(BULLET)
        schedule, _ = replay(terms, [pay(date(2026, m, 15), "3500.00") for m in (2, 3, 4, 5)])
        # On 14 June, day 30 of the period that began on 15 May: accrued
        # 1,200,000 × 0.035 / 360 × 30 = 3,500.00, the month's scheduled interest; payoff
        # 1,203,500.00. One fen less pays the current interest 3,500.00 and prepays all
        # principal but 0.01, which stays owing with the last instalment.
        q = payoff.quote(schedule, date(2026, 6, 14), terms)
        assert (q.accrued_interest, q.amount) == (fen("3500.00"), fen("1203500.00"))
        posting = post(schedule, terms, Repayment(date(2026, 6, 14), q.amount - 1))
        assert not posting.paid_off
        assert posting.prepaid_principal == terms.principal - 1
        assert posting.schedule[-1].principal == 1
        # Five days into that period, accrued 1,200,000 × 0.035 / 360 × 5 = 583.333… →
        # 583.33, so the scheduled 3,500.00 with all principal is more than the payoff.
        q = payoff.quote(schedule, date(2026, 5, 20), terms)
        assert q.amount == fen("1200583.33")
        with pytest.raises(Overpayment):
            post(schedule, terms, pay(date(2026, 5, 20), "1203500.00"))


class TestPenaltyInterest:
    def test_penalty_for_twenty_days(self):
        terms = loan(LEVEL_PRINCIPAL)
        schedule = initial_schedule(terms)
        # Instalment 1 (100,000.00 principal, 3,500.00 interest) due 15 February, unpaid. On
        # 7 March, 20 days later: 100,000 × 0.035 × 1.5 / 360 × 20 = 291.666… → 291.67.
        on = date(2026, 3, 7)
        assert penalty_interest_due(schedule, on, terms) == fen("291.67")
        assert days_past_due(schedule, on) == 20
        # Paid that day: penalty first, then interest, then principal.
        posting = post(schedule, terms, pay(on, "103791.67"))
        line = posting.lines[0]
        assert (line.penalty_interest, line.interest, line.principal) == (
            fen("291.67"),
            fen("3500.00"),
            fen("100000.00"),
        )
        # Nothing more accrues on it once its principal is paid (instalment 2 is due on
        # 15 March, so on 15 March nothing is overdue but that day's instalment).
        assert penalty_interest_due(posting.schedule, date(2026, 3, 15), terms) == 0

    def test_penalty_runs_on_what_principal_remains(self):
        terms = loan(LEVEL_PRINCIPAL)
        schedule = initial_schedule(terms)
        # On 25 February (10 days late): penalty 100,000 × 0.0525 / 360 × 10 = 145.833…
        # → 145.83; pay it, the interest and 50,000.00 of principal: 53,645.83.
        posting = post(schedule, terms, pay(date(2026, 2, 25), "53645.83"))
        # Then 50,000.00 stays overdue. On 7 March, 10 days on: the whole accrual is
        # (100,000 × 10 + 50,000 × 10) × 0.0525 / 360 = 218.75, less 145.83 paid = 72.92.
        assert penalty_interest_due(posting.schedule, date(2026, 3, 7), terms) == fen("72.92")

    def test_penalty_uses_the_configured_uplift(self):
        from fractions import Fraction

        terms = Terms(
            principal=fen("1200000.00"),
            rate_bp=350,
            method=LEVEL_PRINCIPAL,
            disbursed_on=date(2026, 1, 15),
            term_months=12,
            penalty_uplift=Fraction(0),
        )
        # No uplift: 100,000 × 0.035 / 360 × 20 = 194.444… → 194.44.
        on = date(2026, 3, 7)
        assert penalty_interest_due(initial_schedule(terms), on, terms) == fen("194.44")


class TestClassification:
    @pytest.mark.parametrize(
        ("dpd", "expected"),
        [
            (0, "normal"),
            (1, "special_mention"),
            (90, "special_mention"),
            (91, "substandard"),
            (270, "substandard"),
            (271, "doubtful"),
            (360, "doubtful"),
            (361, "loss"),
            (2000, "loss"),
        ],
    )
    def test_bands(self, dpd, expected):
        assert classify(dpd) == expected

    def test_a_defaulted_loan_is_at_least_substandard(self):
        assert classify(0, defaulted=True) == "substandard"
        assert classify(45, defaulted=True) == "substandard"
        assert classify(300, defaulted=True) == "doubtful"

    def test_next_change_is_where_the_next_band_begins(self):
        terms = loan(BULLET)
        schedule = initial_schedule(terms)
        # Instalment 1 due 15 February: special mention from 16 February (1 day), substandard
        # from 15 February + 91 days = 17 May.
        assert next_change(schedule, date(2026, 2, 1), defaulted=False) == date(2026, 2, 16)
        assert next_change(schedule, date(2026, 2, 16), defaulted=False) == date(2026, 5, 17)
        # Defaulted, it is substandard already: the next change is doubtful at 271 days.
        assert next_change(schedule, date(2026, 2, 16), defaulted=True) == date(2026, 11, 13)
