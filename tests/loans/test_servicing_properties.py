"""The servicing engine against a deliberately naive second implementation.

The naive loan below accrues penalty and interest one day at a time in exact fractions,
allocates a repayment one owed amount at a time, and re-amortises by building the remaining
schedule afresh month by month; it shares nothing with ``app.loans`` but the due dates. Over
random loans, methods, rates, dates and payment sequences the two must agree to the fen on
every posting's allocation, the schedule after it, penalty interest, days past due, the payoff
quote and the classification.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from math import ceil, floor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.loans import payoff
from app.loans.accrual import days_past_due, penalty_interest_due
from app.loans.classification import classify
from app.loans.ledger import (
    Overpayment,
    PayoffRequired,
    PrepaymentOption,
    Repayment,
    Terms,
    outstanding_principal,
)
from app.loans.schedule import RepaymentMethod, due_date
from app.loans.servicing import initial_schedule, post

DAY = timedelta(days=1)
BULLET = RepaymentMethod.INTEREST_ONLY_BULLET
ANNUITY = RepaymentMethod.EQUAL_INSTALLMENT
LEVEL = RepaymentMethod.EQUAL_PRINCIPAL


def half_up(x: Fraction) -> int:
    return floor(x + Fraction(1, 2))


def month_interest(balance: int, rate_bp: int) -> int:
    return half_up(Fraction(balance * rate_bp, 10000 * 12))


def naive_rows(method: RepaymentMethod, p: int, rate_bp: int, n: int) -> list[list[int]]:
    """[principal, interest] in fen, month by month."""
    if method is BULLET:
        return [[0, month_interest(p, rate_bp)] for _ in range(n - 1)] + [
            [p, month_interest(p, rate_bp)]
        ]
    if method is LEVEL:
        part = half_up(Fraction(p, n))
        if part * (n - 1) >= p:
            part -= 1
        rows, balance = [], p
        for k in range(n):
            principal = part if k < n - 1 else balance
            rows.append([principal, month_interest(balance, rate_bp)])
            balance -= principal
        return rows
    r = Fraction(rate_bp, 120000)
    level = half_up(Fraction(p, n) if r == 0 else p * r * (1 + r) ** n / ((1 + r) ** n - 1))
    for payment in (level, level - 1):
        rows, balance = [], p
        for _ in range(n - 1):
            interest = month_interest(balance, rate_bp)
            rows.append([payment - interest, interest])
            balance -= payment - interest
        if balance > 0:
            return [*rows, [balance, month_interest(balance, rate_bp)]]
    raise AssertionError("no level payment")


def naive_shorter(method, balance, rate_bp, first: list[int], most: int) -> list[list[int]]:
    """Keep the first later instalment's total (annuity) or principal (equal principal)."""
    rows: list[list[int]] = []
    if method is ANNUITY:
        total = first[0] + first[1]
        while True:
            interest = month_interest(balance, rate_bp)
            if balance + interest <= total or len(rows) == most - 1:
                return [*rows, [balance, interest]]
            rows.append([total - interest, interest])
            balance -= total - interest
    count = min(most, ceil(Fraction(balance, first[0])))
    for k in range(count):
        principal = first[0] if k < count - 1 else balance
        rows.append([principal, month_interest(balance, rate_bp)])
        balance -= principal
    return rows


@dataclass
class Row:
    seq: int
    due: date
    principal: int
    interest: int
    pp: int = 0
    pi: int = 0
    ppen: int = 0


@dataclass
class NaiveLoan:
    terms: Terms
    rows: list[Row] = field(default_factory=list)
    penalty: dict[int, Fraction] = field(default_factory=dict)
    day: date = date.min

    @classmethod
    def open(cls, t: Terms) -> NaiveLoan:
        rows = naive_rows(t.method, t.principal, t.rate_bp, t.term_months)
        loan = cls(t, day=t.disbursed_on)
        loan.rows = [
            Row(k + 1, due_date(t.disbursed_on, k + 1), p, i) for k, (p, i) in enumerate(rows)
        ]
        loan.penalty = {r.seq: Fraction(0) for r in loan.rows}
        return loan

    def advance(self, to: date) -> None:
        """Accrue each day's penalty interest on the principal unpaid at its start."""
        daily = Fraction(self.terms.rate_bp, 10000 * 360) * (1 + self.terms.penalty_uplift)
        d = self.day + DAY
        while d <= to:
            for r in self.rows:
                if r.due < d:
                    self.penalty[r.seq] += (r.principal - r.pp) * daily
            d += DAY
        self.day = max(self.day, to)

    def penalty_due(self, on: date) -> dict[int, int]:
        later = copy.deepcopy(self)
        later.advance(on)
        return {r.seq: half_up(later.penalty[r.seq]) - r.ppen for r in later.rows}

    def current(self, on: date) -> int | None:
        return next((k for k, r in enumerate(self.rows) if r.due > on), None)

    def accrued(self, on: date) -> int:
        k = self.current(on)
        if k is None:
            return 0
        start = self.rows[k - 1].due if k else self.terms.disbursed_on
        principal = sum(r.principal - r.pp for r in self.rows[k:])
        total, d = Fraction(0), start + DAY
        while d <= on:
            total += principal * Fraction(self.terms.rate_bp, 10000 * 360)
            d += DAY
        return max(0, half_up(total) - self.rows[k].pi)

    def payoff(self, on: date) -> int:
        pen = self.penalty_due(on)
        owed = sum(
            pen[r.seq] + r.interest - r.pi + r.principal - r.pp for r in self.rows if r.due <= on
        )
        k = self.current(on)
        later = 0 if k is None else sum(r.principal - r.pp for r in self.rows[k:])
        return owed + later + self.accrued(on)

    def dpd(self, on: date) -> int:
        for r in self.rows:
            if r.due <= on and (r.pp < r.principal or r.pi < r.interest):
                return (on - r.due).days
        return 0

    def pay(self, on: date, amount: int, option: PrepaymentOption):
        """(lines, prepaid) or the name of the refusal."""
        total = self.payoff(on)
        if amount > total:
            return "overpayment"
        accrued = self.accrued(on)
        self.advance(on)
        pen = {seq: half_up(a) for seq, a in self.penalty.items()}
        k = self.current(on)
        owed = []  # (row, what, how much), in the order money goes
        for r in self.rows if k is None else self.rows[:k]:
            owed += [(r, "ppen", pen[r.seq] - r.ppen), (r, "pi", r.interest - r.pi)]
            owed += [(r, "pp", r.principal - r.pp)]
        if k is not None:
            cur = self.rows[k]
            if amount == total:
                cur.interest = cur.pi + accrued
            owed += [(cur, "pi", cur.interest - cur.pi), (cur, "pp", cur.principal - cur.pp)]
        paid: dict[int, list[int]] = {}
        left = amount
        for row, what, due in owed:
            part = min(left, due)
            if part > 0:
                setattr(row, what, getattr(row, what) + part)
                slot = {"ppen": 0, "pi": 1, "pp": 2}[what]
                paid.setdefault(row.seq, [0, 0, 0])[slot] += part
                left -= part
        lines = [(seq, *v) for seq, v in sorted(paid.items())]
        if left == 0 and (amount < total or k is None):
            return lines, 0
        later = self.rows[k + 1 :]
        balance = sum(r.principal - r.pp for r in later) - left
        if amount < total and balance <= 0:
            return "payoff_required"
        cur.principal += left
        cur.pp += left
        if amount == total:
            self.rows = self.rows[: k + 1]
            return lines, left
        t = self.terms
        first = [later[0].principal, later[0].interest]
        if option is PrepaymentOption.SHORTEN_TERM and len(later) > 1 and t.method is not BULLET:
            new = naive_shorter(t.method, balance, t.rate_bp, first, len(later))
        else:
            new = naive_rows(t.method, balance, t.rate_bp, len(later))
        self.rows = self.rows[: k + 1] + [
            Row(r.seq, r.due, p, i) for r, (p, i) in zip(later, new, strict=False)
        ]
        for r in later[len(new) :]:
            del self.penalty[r.seq]
        return lines, left


@st.composite
def loans(draw) -> Terms:
    return Terms(
        principal=draw(st.integers(100_00, 20_000_000_00)),
        rate_bp=draw(st.integers(0, 2400)),
        method=draw(st.sampled_from(list(RepaymentMethod))),
        disbursed_on=draw(st.dates(date(2019, 1, 1), date(2027, 12, 31))),
        term_months=draw(st.integers(1, 24)),
        penalty_uplift=draw(st.sampled_from([Fraction(1, 2), Fraction(0), Fraction(3, 10)])),
    )


KINDS = ("instalment", "some", "payoff", "more", "tiny", "prepay", "prepay")


def amount_for(kind: str, naive: NaiveLoan, on: date, data) -> int:
    total = naive.payoff(on)
    if kind == "payoff":
        return total
    if kind == "more":
        return total + data.draw(st.integers(1, 10_000))
    if kind == "tiny":
        return data.draw(st.integers(1, 500))
    if kind in ("instalment", "prepay"):
        row = next((r for r in naive.rows if r.pp < r.principal or r.pi < r.interest), None)
        if row is not None:
            owed = row.principal - row.pp + row.interest - row.pi
            # A prepayment of up to three instalments' worth: the later ones are re-amortised
            # on a balance still large enough to need several of them.
            extra = data.draw(st.integers(1, 3 * max(1, owed))) if kind == "prepay" else 0
            return max(1, min(total, owed + extra))
    return data.draw(st.integers(1, max(1, total)))


def schedule_view(schedule) -> list[tuple]:
    return [
        (
            i.seq,
            i.due_date,
            i.principal,
            i.interest,
            i.paid_principal,
            i.paid_interest,
            i.paid_penalty,
        )
        for i in schedule
    ]


def naive_view(naive: NaiveLoan) -> list[tuple]:
    return [(r.seq, r.due, r.principal, r.interest, r.pp, r.pi, r.ppen) for r in naive.rows]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(terms=loans(), data=st.data())
def test_engine_agrees_with_the_naive_loan(terms: Terms, data) -> None:
    schedule = initial_schedule(terms)
    naive = NaiveLoan.open(terms)
    assert schedule_view(schedule) == naive_view(naive)
    on = terms.disbursed_on
    for _ in range(data.draw(st.integers(1, 8))):
        on += timedelta(days=data.draw(st.integers(0, 75)))
        kind = data.draw(st.sampled_from(KINDS))
        option = data.draw(st.sampled_from(list(PrepaymentOption)))
        amount = amount_for(kind, naive, on, data)
        expected = naive.pay(on, amount, option)
        try:
            posting = post(schedule, terms, Repayment(on, amount, option))
        except Overpayment as exc:
            assert expected == "overpayment"
            assert exc.payoff == naive.payoff(on)
            continue
        except PayoffRequired:
            assert expected == "payoff_required"
            continue
        lines, prepaid = expected
        got = [(ln.seq, ln.penalty_interest, ln.interest, ln.principal) for ln in posting.lines]
        assert got == lines
        assert posting.prepaid_principal == prepaid
        assert posting.penalty_paid + posting.interest_paid + posting.principal_paid == amount
        schedule = posting.schedule
        assert schedule_view(schedule) == naive_view(naive)
        # The schedule always sums to the principal.
        assert sum(i.principal for i in schedule) == terms.principal
        if posting.paid_off:
            assert outstanding_principal(schedule) == 0
            break
        # What the loan owes on a later date, with nothing more paid.
        later = on + timedelta(days=data.draw(st.integers(0, 400)))
        assert penalty_interest_due(schedule, later, terms) == sum(
            naive.penalty_due(later).values()
        )
        assert days_past_due(schedule, later) == naive.dpd(later)
        assert payoff.quote(schedule, later, terms).amount == naive.payoff(later)
        assert classify(days_past_due(schedule, later)) == classify(naive.dpd(later))


@settings(max_examples=60, deadline=None)
@given(terms=loans(), gap=st.integers(0, 800))
def test_an_untouched_loan_owes_exactly_its_due_amounts(terms: Terms, gap: int) -> None:
    """Nothing paid: penalty on each overdue instalment's full principal for its days late,
    and the payoff is every due amount, the principal not yet due and the period's interest."""
    schedule = initial_schedule(terms)
    on = terms.disbursed_on + timedelta(days=gap)
    daily = Fraction(terms.rate_bp, 10000 * 360) * (1 + terms.penalty_uplift)
    expected_penalty = sum(
        half_up(i.principal * daily * (on - i.due_date).days) for i in schedule if i.due_date < on
    )
    assert penalty_interest_due(schedule, on, terms) == expected_penalty
    naive = NaiveLoan.open(terms)
    assert payoff.quote(schedule, on, terms).amount == naive.payoff(on)
