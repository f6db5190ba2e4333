"""Repayment schedules: worked examples by hand, then properties over every method and term."""

from calendar import monthrange
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.loans.schedule import (
    Installment,
    RepaymentMethod,
    build_schedule,
    due_date,
    maturity_date,
)

BULLET = RepaymentMethod.INTEREST_ONLY_BULLET
ANNUITY = RepaymentMethod.EQUAL_INSTALLMENT
LEVEL_PRINCIPAL = RepaymentMethod.EQUAL_PRINCIPAL


def schedule(principal: str, rate_bp: int, months: int, on: date, method: RepaymentMethod):
    return build_schedule(
        principal=Decimal(principal),
        rate_bp=rate_bp,
        term_months=months,
        disbursed_on=on,
        method=method,
    )


def rows(installments: tuple[Installment, ...]) -> list[tuple[str, str]]:
    return [(f"{i.principal}", f"{i.interest}") for i in installments]


MONTHLY_15TH_2026 = [date(2026, m, 15) for m in range(2, 13)] + [date(2027, 1, 15)]


class TestTwelveMonthsAt350:
    """1,200,000.00 at 350 bp (3.50% a year) over 12 months, disbursed 2026-01-15.

    r = 350 / 10000 / 12 = 0.0029166…; a month's interest on 1,200,000.00 is 3,500.00.
    """

    def test_interest_only_bullet(self):
        s = schedule("1200000.00", 350, 12, date(2026, 1, 15), BULLET)
        # 1,200,000.00 × 0.0029166… = 3,500.00 every month; all principal with the 12th.
        assert rows(s) == [("0.00", "3500.00")] * 11 + [("1200000.00", "3500.00")]
        assert [i.due_date for i in s] == MONTHLY_15TH_2026

    def test_equal_installment(self):
        s = schedule("1200000.00", 350, 12, date(2026, 1, 15), ANNUITY)
        # (1 + r)^12 = 1.0355669529…
        # A = 1,200,000 × r × 1.0355669529… / 0.0355669529… = 101,905.9558… → 101,905.96
        # 1: interest 1,200,000.00 × r = 3,500.00; principal 101,905.96 − 3,500.00 = 98,405.96
        # 2: balance 1,101,594.04; interest 3,212.9826… → 3,212.98; principal 98,692.98
        # 3: balance 1,002,901.06; interest 2,925.1280… → 2,925.13; principal 98,980.83
        # …
        # 12: balance 101,609.54, all of it; interest 296.3611… → 296.36; total 101,905.90
        assert rows(s) == [
            ("98405.96", "3500.00"),
            ("98692.98", "3212.98"),
            ("98980.83", "2925.13"),
            ("99269.53", "2636.43"),
            ("99559.06", "2346.90"),
            ("99849.44", "2056.52"),
            ("100140.67", "1765.29"),
            ("100432.75", "1473.21"),
            ("100725.68", "1180.28"),
            ("101019.46", "886.50"),
            ("101314.10", "591.86"),
            ("101609.54", "296.36"),
        ]
        assert {i.total for i in s[:-1]} == {Decimal("101905.96")}
        assert s[-1].total == Decimal("101905.90")
        assert [i.due_date for i in s] == MONTHLY_15TH_2026

    def test_equal_principal(self):
        s = schedule("1200000.00", 350, 12, date(2026, 1, 15), LEVEL_PRINCIPAL)
        # principal 1,200,000.00 / 12 = 100,000.00 each; interest on the balance before it:
        # 1,200,000 × r = 3,500.00; 1,100,000 × r = 3,208.333… → 3,208.33;
        # 1,000,000 × r = 2,916.666… → 2,916.67; 900,000 × r = 2,625.00; …; 100,000 × r = 291.67
        assert rows(s) == [
            ("100000.00", interest)
            for interest in [
                "3500.00",
                "3208.33",
                "2916.67",
                "2625.00",
                "2333.33",
                "2041.67",
                "1750.00",
                "1458.33",
                "1166.67",
                "875.00",
                "583.33",
                "291.67",
            ]
        ]
        assert [i.due_date for i in s] == MONTHLY_15TH_2026


class TestDueDates:
    def test_disbursed_on_the_31st_falls_back_to_each_months_last_day(self):
        # Every date is counted from 31 January: February's 28th does not drag March to the 28th.
        assert [due_date(date(2026, 1, 31), k) for k in range(1, 14)] == [
            date(2026, 2, 28),
            date(2026, 3, 31),
            date(2026, 4, 30),
            date(2026, 5, 31),
            date(2026, 6, 30),
            date(2026, 7, 31),
            date(2026, 8, 31),
            date(2026, 9, 30),
            date(2026, 10, 31),
            date(2026, 11, 30),
            date(2026, 12, 31),
            date(2027, 1, 31),
            date(2027, 2, 28),
        ]

    def test_schedule_from_the_31st(self):
        # 60,000.00 at 300 bp: r = 0.0025; principal 10,000.00 a month;
        # interest 60,000 × r = 150.00, 50,000 × r = 125.00, … 10,000 × r = 25.00
        s = schedule("60000.00", 300, 6, date(2026, 1, 31), LEVEL_PRINCIPAL)
        assert [(i.seq, i.due_date, f"{i.principal}", f"{i.interest}") for i in s] == [
            (1, date(2026, 2, 28), "10000.00", "150.00"),
            (2, date(2026, 3, 31), "10000.00", "125.00"),
            (3, date(2026, 4, 30), "10000.00", "100.00"),
            (4, date(2026, 5, 31), "10000.00", "75.00"),
            (5, date(2026, 6, 30), "10000.00", "50.00"),
            (6, date(2026, 7, 31), "10000.00", "25.00"),
        ]

    def test_leap_february(self):
        assert due_date(date(2028, 1, 31), 1) == date(2028, 2, 29)
        assert due_date(date(2028, 1, 30), 1) == date(2028, 2, 29)
        assert due_date(date(2027, 1, 29), 1) == date(2027, 2, 28)

    def test_disbursed_on_29_february(self):
        s = schedule("120000.00", 300, 48, date(2028, 2, 29), BULLET)
        dates = [i.due_date for i in s]
        assert dates[:3] == [date(2028, 3, 29), date(2028, 4, 29), date(2028, 5, 29)]
        assert dates[11] == date(2029, 2, 28)  # no 29th in 2029
        assert dates[12] == date(2029, 3, 29)
        assert dates[47] == date(2032, 2, 29)  # 2032 is a leap year again
        assert maturity_date(date(2028, 2, 29), 12) == date(2029, 2, 28)

    def test_disbursed_on_28_february_stays_on_the_28th(self):
        s = schedule("120000.00", 300, 12, date(2026, 2, 28), BULLET)
        assert [i.due_date for i in s] == [date(2026, m, 28) for m in range(3, 13)] + [
            date(2027, 1, 28),
            date(2027, 2, 28),
        ]

    def test_maturity_is_the_last_due_date(self):
        assert maturity_date(date(2026, 3, 31), 60) == date(2031, 3, 31)
        assert maturity_date(date(2026, 1, 31), 1) == date(2026, 2, 28)
        assert due_date(date(2026, 1, 31), 0) == date(2026, 1, 31)


class TestOneMonth:
    @pytest.mark.parametrize("method", list(RepaymentMethod))
    def test_one_instalment_repays_everything(self, method):
        # 500,000.00 at 420 bp: interest 500,000 × 420 / 120,000 = 1,750.00; under every
        # method the single instalment is the whole principal and one month's interest
        # (the annuity for n = 1 is P·(1 + r) = 501,750.00).
        s = schedule("500000.00", 420, 1, date(2026, 12, 31), method)
        assert s == (Installment(1, date(2027, 1, 31), Decimal("500000.00"), Decimal("1750.00")),)


class TestSixtyMonths:
    """3,000,000.00 at 290 bp over 60 months, disbursed 2026-03-31; r = 0.0024166…"""

    def test_interest_only_bullet(self):
        s = schedule("3000000.00", 290, 60, date(2026, 3, 31), BULLET)
        # 3,000,000 × 290 / 120,000 = 7,250.00 a month, 60 × 7,250.00 = 435,000.00
        assert {i.interest for i in s} == {Decimal("7250.00")}
        assert [i.principal for i in s[:-1]] == [Decimal("0.00")] * 59
        assert s[-1].principal == Decimal("3000000.00")
        assert [s[k - 1].due_date for k in (1, 11, 23, 60)] == [
            date(2026, 4, 30),
            date(2027, 2, 28),
            date(2028, 2, 29),
            date(2031, 3, 31),
        ]

    def test_equal_installment(self):
        s = schedule("3000000.00", 290, 60, date(2026, 3, 31), ANNUITY)
        # (1 + r)^60 = 1.1558373659…; A = 3,000,000 × r × 1.15583… / 0.15583… = 53,772.8602…
        # → 53,772.86
        # 1: interest 7,250.00; principal 53,772.86 − 7,250.00 = 46,522.86
        # 2: balance 2,953,477.14; interest 7,137.5664… → 7,137.57; principal 46,635.29
        # 60: balance 53,643.21 (what the first 59 left); interest 129.6377… → 129.64
        assert rows(s[:2]) == [("46522.86", "7250.00"), ("46635.29", "7137.57")]
        assert {i.total for i in s[:-1]} == {Decimal("53772.86")}
        assert rows(s[-1:]) == [("53643.21", "129.64")]
        assert sum(i.interest for i in s) == Decimal("226371.59")

    def test_equal_principal(self):
        s = schedule("3000000.00", 290, 60, date(2026, 3, 31), LEVEL_PRINCIPAL)
        # 3,000,000.00 / 60 = 50,000.00; interest 3,000,000 × r = 7,250.00, then
        # 2,950,000 × r = 7,129.1666… → 7,129.17, …, the last 50,000 × r = 120.8333… → 120.83
        assert {i.principal for i in s} == {Decimal("50000.00")}
        assert [s[k].interest for k in (0, 1, 58, 59)] == [
            Decimal("7250.00"),
            Decimal("7129.17"),
            Decimal("241.67"),
            Decimal("120.83"),
        ]


class TestRounding:
    def test_an_annuity_on_an_exact_half_fen_rounds_up(self):
        # 57,684.00 at 350 bp over 2 months: A = P·(1+r)² / (2 + r) = 5,793,649 / 200
        # = 28,968.245 exactly → 28,968.25. (A 28- or 50-digit decimal evaluation of the
        # textbook formula lands just below the half fen and would give 28,968.24.)
        # 1: interest 57,684.00 × r = 168.245 → 168.25; principal 28,800.00
        # 2: balance 28,884.00; interest 84.245 → 84.25
        s = schedule("57684.00", 350, 2, date(2026, 1, 15), ANNUITY)
        assert rows(s) == [("28800.00", "168.25"), ("28884.00", "84.25")]
        assert s[0].total == Decimal("28968.25")

    def test_equal_principal_remainder_goes_to_the_last(self):
        # 1,000,000.00 / 3 = 333,333.333… → 333,333.33 twice, the last 333,333.34
        s = schedule("1000000.00", 0, 3, date(2026, 1, 15), LEVEL_PRINCIPAL)
        assert rows(s) == [("333333.33", "0.00"), ("333333.33", "0.00"), ("333333.34", "0.00")]

    def test_rate_zero_annuity_is_principal_over_term(self):
        # 100,000.00 / 7 = 14,285.714… → 14,285.71 six times, the last 14,285.74
        s = schedule("100000.00", 0, 7, date(2026, 1, 15), ANNUITY)
        assert rows(s) == [("14285.71", "0.00")] * 6 + [("14285.74", "0.00")]

    @pytest.mark.parametrize("method", [ANNUITY, LEVEL_PRINCIPAL])
    def test_a_loan_of_a_few_yuan_keeps_every_amount_non_negative(self, method):
        # 1.00 over 60 months at 0 bp: 1.00 / 60 = 0.0166… → 0.02, but 59 × 0.02 = 1.18 would
        # repay more than was lent, so the level amount is one fen less: 59 × 0.01, last 0.41.
        s = schedule("1.00", 0, 60, date(2026, 1, 15), method)
        assert rows(s) == [("0.01", "0.00")] * 59 + [("0.41", "0.00")]


class TestRefused:
    @pytest.mark.parametrize(
        "principal,rate_bp,months",
        [
            ("0.00", 350, 12),
            ("-1.00", 350, 12),
            ("100.001", 350, 12),
            ("NaN", 350, 12),
            ("100.00", -1, 12),
            ("100.00", 350, 0),
            ("100.00", 350, 61),
        ],
    )
    def test_out_of_range(self, principal, rate_bp, months):
        with pytest.raises(ValueError):
            schedule(principal, rate_bp, months, date(2026, 1, 15), BULLET)


# -- properties ---------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**12).map(lambda fen: Decimal(fen).scaleb(-2))
rates = st.integers(min_value=0, max_value=2000)
terms = st.integers(min_value=1, max_value=60)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2095, 12, 31))
methods = st.sampled_from(list(RepaymentMethod))


def half_up(value: Fraction) -> Fraction:
    """The exact value rounded half-up to the fen, computed on fractions (no decimals)."""
    return Fraction(int(value * 100 + Fraction(1, 2)), 100)


class TestProperties:
    @settings(max_examples=400)
    @given(amounts, rates, terms, days, methods)
    def test_every_schedule_keeps_the_rules(self, principal, rate_bp, months, on, method):
        s = build_schedule(
            principal=principal,
            rate_bp=rate_bp,
            term_months=months,
            disbursed_on=on,
            method=method,
        )
        assert [i.seq for i in s] == list(range(1, months + 1))
        assert [i.due_date for i in s] == [due_date(on, k) for k in range(1, months + 1)]
        assert sum(i.principal for i in s) == principal
        for i in s:
            for amount in (i.principal, i.interest):
                assert amount >= 0
                assert amount.as_tuple().exponent == -2
        assert s[-1].principal > 0

        # Each month's interest is the balance at its start × r, rounded half-up (exactly).
        r = Fraction(rate_bp, 120_000)
        balance = Fraction(principal)
        for i in s:
            assert Fraction(i.interest) == half_up(balance * r)
            balance -= Fraction(i.principal)

        if method is RepaymentMethod.EQUAL_INSTALLMENT and months > 1:
            totals = {i.total for i in s[:-1]}
            assert len(totals) == 1
            if rate_bp:
                grown = (1 + r) ** months
                exact = Fraction(principal) * r * grown / (grown - 1)
            else:
                exact = Fraction(principal) / months
            # A rounded half-up, or one fen less for a loan of a few yuan.
            assert Fraction(totals.pop()) in {half_up(exact), half_up(exact) - Fraction(1, 100)}
        if method is RepaymentMethod.EQUAL_PRINCIPAL and months > 1:
            assert len({i.principal for i in s[:-1]}) == 1
        if method is RepaymentMethod.INTEREST_ONLY_BULLET:
            assert all(i.principal == 0 for i in s[:-1])

    @given(days, terms)
    def test_due_dates_rise_monthly_on_the_disbursement_day(self, on, months):
        dates = [due_date(on, k) for k in range(1, months + 1)]
        assert all(a < b for a, b in pairwise(dates))
        for k, due in enumerate(dates, start=1):
            assert (due.year * 12 + due.month) - (on.year * 12 + on.month) == k
            assert due.day == min(on.day, monthrange(due.year, due.month)[1])
        assert maturity_date(on, months) == dates[-1]
