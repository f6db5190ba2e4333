"""A bank's back office reconciles the service's loan figures with its own calculator
(below, written from SPEC 3.6 alone): every allocation line, the prepaid
principal, the schedule after each posting, the outstanding principal, days past due, penalty
interest due, the class, the payoff quote, and the loan paid off by paying the quote exactly
(one fen more: 422 overpayment), over the repayment patterns a bank sees.

The calculator is deliberately plain: exact fractions, one instalment at a time, penalty
interest day by day.

- Schedule: monthly interest = balance × annual / 12, half-up to the fen; the last instalment
  absorbs the rounding. equal_installment: level total A = P·r(1+r)^n / ((1+r)^n − 1), half-up;
  equal_principal: P / n half-up; interest_only_bullet: all principal in the last instalment.
  Due dates on the disbursement's day of month, or the month's last day.
- Allocation: overdue instalments oldest first (penalty, interest, principal), then the current
  instalment (the first not yet due) up to its scheduled amounts, then prepayment, after which
  the instalments after the current one are re-amortised on the new balance.
- Penalty: unpaid overdue principal × annual × 1.5 / 360 for each day from the day after the due
  date to the day paid (both counted), summed exactly, half-up once per instalment.
- Payoff: overdue + penalty + principal not yet due + that principal × annual / 360 × days
  since the previous due date (or disbursement), half-up, less the current instalment's
  interest already paid (never below zero).
"""

from __future__ import annotations

import calendar
import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.loans.ledger import Overpayment as EngineOverpayment
from app.loans.ledger import PrepaymentOption, Repayment, Terms
from app.loans.payoff import quote
from app.loans.schedule import RepaymentMethod
from app.loans.servicing import initial_schedule, post, standing
from app.pools.repository import loan_facts
from tests.conftest import slug
from tests.factories import at
from tests.lifecycle import disbursed

D = Decimal


# --- the back office's calculator ---------------------------------------------------------

Z = Decimal("0.00")


def fen(q: Fraction | Decimal) -> Decimal:
    """Half-up to the fen (every amount here is non-negative)."""
    cents = (Fraction(q) * 100 + Fraction(1, 2)).__floor__()
    return Decimal(cents) / 100


def due_date(disbursed: date, k: int) -> date:
    month = disbursed.month - 1 + k
    year, month = disbursed.year + month // 12, month % 12 + 1
    return date(year, month, min(disbursed.day, calendar.monthrange(year, month)[1]))


@dataclass
class Row:
    seq: int
    due: date
    principal: Decimal
    interest: Decimal
    paid_p: Decimal = Z
    paid_i: Decimal = Z
    paid_pen: Decimal = Z
    # (date, principal paid that day): penalty accrues on what was unpaid before each day.
    principal_payments: list[tuple[date, Decimal]] = field(default_factory=list)

    def unpaid(self) -> bool:
        return self.paid_p < self.principal or self.paid_i < self.interest


@dataclass
class Quote:
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty: Decimal
    outstanding: Decimal
    accrued: Decimal

    @property
    def amount(self) -> Decimal:
        return (
            self.overdue_principal
            + self.overdue_interest
            + self.penalty
            + self.outstanding
            + self.accrued
        )


class Overpayment(Exception):
    pass


@dataclass
class Posting:
    lines: dict[int, list[Decimal]]  # seq -> [penalty, interest, principal]
    prepaid: Decimal


class BackOffice:
    def __init__(
        self,
        *,
        principal: str,
        rate_bp: int,
        months: int,
        method: str,
        disbursed: date,
        uplift: Fraction = Fraction(1, 2),
    ) -> None:
        self.principal = Decimal(principal)
        self.rate = Fraction(rate_bp, 10000)
        self.method = method
        self.disbursed = disbursed
        self.uplift = uplift
        self.state = "active"
        dues = [due_date(disbursed, k) for k in range(1, months + 1)]
        self.rows: list[Row] = []
        self.level = Z
        self._amortise(self.principal, dues, start_seq=1, keep_level=False)

    # -- schedule -------------------------------------------------------------------------
    def _monthly(self, balance: Decimal) -> Decimal:
        return fen(Fraction(balance) * self.rate / 12)

    def _amortise(self, balance: Decimal, dues: list[date], *, start_seq: int, keep_level: bool):
        """Append instalments for ``balance`` over (at most) ``dues``."""
        n, r = len(dues), self.rate / 12
        if not keep_level:
            if self.method == "equal_installment":
                growth = (1 + r) ** n
                self.level = fen(Fraction(balance) * r * growth / (growth - 1))
            elif self.method == "equal_principal":
                self.level = fen(Fraction(balance) / n)
            # Keeping the number of instalments comes first: on a balance of a few fen over
            # many months the half-up level would repay it all before the last instalment;
            # the level is then the largest that leaves the last one something to absorb.
            while self.method != "interest_only_bullet" and self._overshoots(balance, n):
                self.level -= D("0.01")
        seq = start_seq
        for k, due in enumerate(dues):
            interest = self._monthly(balance)
            last = k == n - 1
            if self.method == "interest_only_bullet":
                principal = balance if last else Z
            elif self.method == "equal_installment":
                principal = self.level - interest
            else:
                principal = self.level
            # Shortening the term: level instalments until one would repay the rest; a level
            # that repays nothing (a balance of a few fen) leaves the rest to the next one.
            ends = principal >= balance or (keep_level and principal <= 0)
            if last or ends:
                principal = balance
            self.rows.append(Row(seq, due, principal, interest))
            balance -= principal
            seq += 1
            if last or ends:
                break

    def _overshoots(self, balance: Decimal, n: int) -> bool:
        for _ in range(n - 1):
            interest = self._monthly(balance)
            principal = self.level - (interest if self.method == "equal_installment" else 0)
            if principal >= balance:
                return True
            balance -= principal
        return False

    def _reamortise(self, current: Row, option: str) -> None:
        later = [r for r in self.rows if r.seq > current.seq]
        if not later:
            return
        self.rows = [r for r in self.rows if r.seq <= current.seq]
        balance = self.principal - sum((r.principal for r in self.rows), Z)
        if balance == 0:
            return
        dues = [r.due for r in later]
        shorten = option == "shorten_term" and self.method != "interest_only_bullet"
        self._amortise(balance, dues, start_seq=current.seq + 1, keep_level=shorten)

    # -- accrual --------------------------------------------------------------------------
    def _penalty_exact(self, row: Row, on: date) -> Fraction:
        total, day = Fraction(0), row.due + timedelta(days=1)
        daily = self.rate * (1 + self.uplift) / 360
        while day <= on:
            paid = sum((a for d, a in row.principal_payments if d < day), Z)
            total += Fraction(row.principal - paid) * daily
            day += timedelta(days=1)
        return total

    def penalty_due(self, row: Row, on: date) -> Decimal:
        return max(Z, fen(self._penalty_exact(row, on)) - row.paid_pen)

    def current(self, on: date) -> Row | None:
        return next((r for r in self.rows if r.due > on), None)

    def quote(self, on: date) -> Quote:
        overdue = [r for r in self.rows if r.due <= on]
        later = [r for r in self.rows if r.due > on]
        outstanding = sum((r.principal - r.paid_p for r in later), Z)
        accrued = Z
        current = self.current(on)
        if current is not None:
            before = [r.due for r in self.rows if r.seq < current.seq]
            start = before[-1] if before else self.disbursed
            gross = fen(Fraction(outstanding) * self.rate / 360 * (on - start).days)
            accrued = max(Z, gross - current.paid_i)
        return Quote(
            overdue_principal=sum((r.principal - r.paid_p for r in overdue), Z),
            overdue_interest=sum((r.interest - r.paid_i for r in overdue), Z),
            penalty=sum((self.penalty_due(r, on) for r in overdue), Z),
            outstanding=outstanding,
            accrued=accrued,
        )

    # -- the loan as seen on a date -------------------------------------------------------
    def outstanding_principal(self) -> Decimal:
        return self.principal - sum((r.paid_p for r in self.rows), Z)

    def days_past_due(self, on: date) -> int:
        if self.state == "paid_off":
            return 0
        late = [r for r in self.rows if r.due <= on and r.unpaid()]
        return (on - late[0].due).days if late else 0

    def penalty_interest_due(self, on: date) -> Decimal:
        return sum((self.penalty_due(r, on) for r in self.rows if r.due < on), Z)

    def classification(self, on: date) -> str:
        dpd = self.days_past_due(on)
        if dpd == 0:
            return "normal"
        if dpd <= 90:
            return "special_mention"
        if dpd <= 270:
            return "substandard"
        return "doubtful" if dpd <= 360 else "loss"

    # -- posting --------------------------------------------------------------------------
    def pay(self, on: date, amount: str, option: str = "reduce_installment") -> Posting:
        money = Decimal(amount)
        quote = self.quote(on)
        if money > quote.amount:
            raise Overpayment
        if money == quote.amount:
            return self._pay_off(on, quote)
        lines: dict[int, list[Decimal]] = {}
        for row in [r for r in self.rows if r.due <= on]:
            money = self._settle(row, on, money, lines, penalty=True)
        current = self.current(on)
        prepaid = Z
        if current is not None and money > 0:
            money = self._settle(current, on, money, lines, penalty=False)
            if money > 0:
                prepaid = money
                # Prepaid principal is recorded on the current instalment, reported apart
                # from the allocation lines.
                current.principal += money
                self._take(current, on, money, {}, 2)
                self._reamortise(current, option)
        return Posting({s: v for s, v in lines.items() if any(v)}, prepaid)

    def _take(self, row: Row, on: date, amount: Decimal, lines, part: int) -> None:
        lines.setdefault(row.seq, [Z, Z, Z])[part] += amount
        if part == 0:
            row.paid_pen += amount
        elif part == 1:
            row.paid_i += amount
        else:
            row.paid_p += amount
            row.principal_payments.append((on, amount))

    def _settle(self, row: Row, on: date, money: Decimal, lines, *, penalty: bool) -> Decimal:
        owed = [
            self.penalty_due(row, on) if penalty else Z,
            row.interest - row.paid_i,
            row.principal - row.paid_p,
        ]
        for part, due in enumerate(owed):
            take = min(money, due)
            if take > 0:
                self._take(row, on, take, lines, part)
                money -= take
        return money

    def _pay_off(self, on: date, quote: Quote) -> Posting:
        lines: dict[int, list[Decimal]] = {}
        for row in [r for r in self.rows if r.due <= on]:
            self._settle(row, on, quote.amount, lines, penalty=True)
        current = self.current(on)
        prepaid = Z
        if current is not None:
            # The accrued interest stands for the current instalment's; the principal after its
            # scheduled amount is prepaid, and the later instalments go.
            current.interest = current.paid_i + quote.accrued
            self._settle(current, on, quote.amount, lines, penalty=False)
            later = [r for r in self.rows if r.seq > current.seq]
            prepaid = sum((r.principal - r.paid_p for r in later), Z)
            current.principal += prepaid
            self._take(current, on, prepaid, {}, 2)
            self.rows = [r for r in self.rows if r.seq <= current.seq]
        self.state = "paid_off"
        return Posting({s: v for s, v in lines.items() if any(v)}, prepaid)


# --- reconciling ---------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _rows(rows: list[Row]) -> list[tuple]:
    return [
        (
            r.seq,
            r.due.isoformat(),
            _money(r.principal),
            _money(r.interest),
            _money(r.paid_p),
            _money(r.paid_i),
            _money(r.paid_pen),
        )
        for r in rows
    ]


def _served_rows(view: dict) -> list[tuple]:
    return [
        (
            i["seq"],
            i["due_date"],
            i["principal"],
            i["interest"],
            i["paid_principal"],
            i["paid_interest"],
            i["paid_penalty_interest"],
        )
        for i in view["schedule"]
    ]


class Reconciler:
    """Drives one loan through the API and checks each answer against the back office."""

    def __init__(self, desk, conn, clock, loan: dict) -> None:
        self.desk, self.conn, self.clock, self.loan = desk, conn, clock, loan
        self.url = f"/v1/loans/{loan['id']}"
        self.book = BackOffice(
            principal=loan["principal"],
            rate_bp=loan["rate_bp"],
            months=loan["term_months"],
            method=loan["repayment_method"],
            disbursed=date.fromisoformat(loan["disbursed_on"]),
        )
        assert _served_rows(loan) == _rows(self.book.rows)

    def today(self, on: date) -> None:
        self.clock.set(at(f"{on.isoformat()}T10:00:00+08:00"))

    def owed(self, on: date, seq: int) -> Decimal:
        """What instalment ``seq`` still asks for on ``on``, its penalty included."""
        row = next(r for r in self.book.rows if r.seq == seq)
        penalty = self.book.penalty_due(row, on) if row.due <= on else D(0)
        return row.principal - row.paid_p + row.interest - row.paid_i + penalty

    async def pay(self, on: date, amount: Decimal, option: str | None = None) -> dict:
        self.today(on)
        body = {"paid_on": on.isoformat(), "amount": _money(amount)}
        if option:
            body["prepayment_option"] = option
        response = await self.desk.client.post(
            f"{self.url}/repayments", json=body, headers=self.desk.officer
        )
        try:
            posting = self.book.pay(on, _money(amount), option or "reduce_installment")
        except Overpayment:
            assert response.status_code == 422, response.text
            assert slug(response) == "overpayment"
            return {}
        assert response.status_code == 201, response.text
        answer = response.json()
        self._check_posting(answer, posting)
        self._check_view(answer["loan"], on)
        return answer

    def _check_posting(self, answer: dict, posting: Posting) -> None:
        lines = [
            (a["seq"], a["penalty_interest"], a["interest"], a["principal"])
            for a in answer["allocation"]
        ]
        expected = [(s, *(_money(v) for v in parts)) for s, parts in sorted(posting.lines.items())]
        assert lines == expected
        assert answer["prepaid_principal"] == _money(posting.prepaid)
        totals = [sum((parts[k] for parts in posting.lines.values()), D(0)) for k in range(3)]
        totals[2] += posting.prepaid  # principal_paid includes the prepaid principal
        assert (
            answer["penalty_interest_paid"],
            answer["interest_paid"],
            answer["principal_paid"],
        ) == tuple(_money(t) for t in totals)
        assert sum(totals) == D(answer["amount"])

    def _check_view(self, view: dict, on: date) -> None:
        assert view["as_of"] == on.isoformat()
        assert view["state"] == self.book.state
        assert _served_rows(view) == _rows(self.book.rows)
        assert view["outstanding_principal"] == _money(self.book.outstanding_principal())
        assert view["days_past_due"] == self.book.days_past_due(on)
        assert view["penalty_interest_due"] == _money(self.book.penalty_interest_due(on))
        assert view["classification"] == self.book.classification(on)
        if self.book.state != "paid_off":
            maturity = self.book.rows[-1].due.isoformat()
            assert view["maturity_date"] == maturity

    async def look(self, on: date) -> dict:
        """The loan read on ``on`` (today), checked."""
        self.today(on)
        response = await self.desk.client.get(self.url, headers=self.desk.officer)
        assert response.status_code == 200, response.text
        self._check_view(response.json(), on)
        return response.json()

    async def project(self, on: date) -> dict:
        """The loan read as of a later date than today: a projection with no more postings."""
        response = await self.desk.client.get(
            self.url, params={"as_of": on.isoformat()}, headers=self.desk.officer
        )
        assert response.status_code == 200, response.text
        self._check_view(response.json(), on)
        return response.json()

    async def quote(self, on: date, *, ahead: bool = False) -> Decimal:
        """The payoff quote for ``on``: today's, or (``ahead``) a later date's, projected."""
        params = {"on": on.isoformat()} if ahead else None
        if not ahead:
            self.today(on)
        response = await self.desk.client.get(
            f"{self.url}/payoff", params=params, headers=self.desk.officer
        )
        assert response.status_code == 200, response.text
        served = response.json()
        mine = self.book.quote(on)
        assert (
            served["overdue_principal"],
            served["overdue_interest"],
            served["penalty_interest"],
            served["outstanding_principal"],
            served["accrued_interest"],
            served["amount"],
        ) == tuple(
            _money(v)
            for v in (
                mine.overdue_principal,
                mine.overdue_interest,
                mine.penalty,
                mine.outstanding,
                mine.accrued,
                mine.amount,
            )
        )
        return mine.amount

    async def pay_off(self, on: date) -> None:
        """One fen over the quote is refused; the quote itself closes the loan."""
        amount = await self.quote(on)
        assert await self.pay(on, amount + D("0.01")) == {}
        answer = await self.pay(on, amount)
        assert answer["loan"]["state"] == "paid_off"
        assert answer["loan"]["outstanding_principal"] == "0.00"

    async def pool_days_past_due(self, cut_off: date) -> int:
        facts = await loan_facts(
            self.conn, cut_off=cut_off, as_of=datetime.now().astimezone(), loan_id=self.loan["id"]
        )
        assert facts is not None
        return facts.days_past_due


async def _loan(desk, conn, clock, method: str, **kwargs) -> Reconciler:
    kwargs.setdefault("amount", "1200000.00")
    loan = await disbursed(desk, conn, clock, method=method, **kwargs)
    return Reconciler(desk, conn, clock, loan)


# --- the calculator by hand ------------------------------------------------------------------


class TestHandWorked:
    def test_equal_installment_schedule(self):
        # 1,200,000.00 at 3.60%, 12 months: r = 0.036 / 12 = 0.003.
        # 1.003^12 = 1.0365993…; A = 1,200,000 × 0.003 × 1.0365993 / 0.0365993 = 101,960.708…
        # → 101,960.71.
        # Instalment 1: interest 1,200,000 × 0.003 = 3,600.00, principal 98,360.71.
        # Instalment 2: balance 1,101,639.29 × 0.003 = 3,304.917… → 3,304.92, principal 98,655.79.
        book = BackOffice(
            principal="1200000.00",
            rate_bp=360,
            months=12,
            method="equal_installment",
            disbursed=date(2026, 1, 15),
        )
        first, second = book.rows[0], book.rows[1]
        assert (first.interest, first.principal) == (D("3600.00"), D("98360.71"))
        assert (second.interest, second.principal) == (D("3304.92"), D("98655.79"))
        assert all(r.principal + r.interest == D("101960.71") for r in book.rows[:-1])
        assert sum(r.principal for r in book.rows) == D("1200000.00")

    def test_short_months_and_the_leap_day(self):
        # Disbursed 31 December 2027: due 31 Jan, 29 Feb (2028 is a leap year), 31 Mar, 30 Apr.
        book = BackOffice(
            principal="400000.00",
            rate_bp=360,
            months=4,
            method="equal_principal",
            disbursed=date(2027, 12, 31),
        )
        assert [r.due for r in book.rows] == [
            date(2028, 1, 31),
            date(2028, 2, 29),
            date(2028, 3, 31),
            date(2028, 4, 30),
        ]
        # Instalment 2 (100,000.00 principal) paid on 5 March: penalty for 1–5 March, 5 days:
        # 100,000 × 0.036 × 1.5 / 360 × 5 = 75.00. Interest 300,000 × 0.003 = 900.00.
        book.pay(date(2028, 1, 31), "101200.00")
        posting = book.pay(date(2028, 3, 5), "100975.00")
        assert posting.lines == {2: [D("75.00"), D("900.00"), D("100000.00")]}
        # Payoff on 15 March: 200,000 outstanding × 0.036 / 360 × 15 days (29 Feb → 15 Mar)
        # = 300.00; nothing overdue; 200,300.00.
        assert book.quote(date(2028, 3, 15)).amount == D("200300.00")

    def test_penalty_payoff_and_prepayment(self):
        # 1,200,000.00 at 3.50%, equal principal, disbursed 15 Jan 2026; instalment 1 (15 Feb:
        # 100,000.00 + 3,500.00) unpaid on 7 March, 20 days late: penalty
        # 100,000 × 0.035 × 1.5 / 360 × 20 = 291.666… → 291.67.
        book = BackOffice(
            principal="1200000.00",
            rate_bp=350,
            months=12,
            method="equal_principal",
            disbursed=date(2026, 1, 15),
        )
        on = date(2026, 3, 7)
        assert book.penalty_interest_due(on) == D("291.67")
        assert (book.days_past_due(on), book.classification(on)) == (20, "special_mention")
        # Payoff that day: 100,000.00 + 3,500.00 + 291.67 overdue, 1,100,000.00 outstanding,
        # accrued 1,100,000 × 0.035 / 360 × 20 (15 Feb → 7 Mar) = 2,138.888… → 2,138.89.
        quote = book.quote(on)
        assert quote.accrued == D("2138.89")
        assert quote.amount == D("1205930.56")
        # Paying instalment 1 with its penalty, instalment 2 (15 Mar: 100,000.00 + 3,208.33 on
        # 1,100,000 × 0.035 / 12 = 3,208.333…) and 600,000.00 more:
        # 103,791.67 + 103,208.33 + 600,000.00 = 807,000.00. 600,000.00 prepaid, then
        # 400,000.00 over the 10 instalments left at 40,000.00 each (reduce_installment);
        # instalment 3's interest 400,000 × 0.035 / 12 = 1,166.666… → 1,166.67, instalment 4's
        # 360,000 × 0.035 / 12 = 1,050.00.
        posting = book.pay(on, "807000.00")
        assert posting.prepaid == D("600000.00")
        # The allocation line shows the instalment's scheduled amounts; the 600,000.00 is
        # reported apart as prepaid and recorded on instalment 2 (principal 700,000.00).
        assert posting.lines[2] == [D("0.00"), D("3208.33"), D("100000.00")]
        assert book.rows[1].principal == D("700000.00")
        assert [(r.principal, r.interest) for r in book.rows[2:4]] == [
            (D("40000.00"), D("1166.67")),
            (D("40000.00"), D("1050.00")),
        ]
        assert len(book.rows) == 12 and book.rows[-1].principal == D("40000.00")

    def test_fen_rounds_half_up(self):
        assert fen(Fraction(5, 1000)) == D("0.01")
        assert fen(Fraction(4999, 1000000)) == D("0.00")


# --- the service against the calculator -----------------------------------------------------


def _day(text: str) -> date:
    return date.fromisoformat(text)


class TestRepaymentPatterns:
    async def test_two_days_early_every_month(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_installment")
        for row in list(loan.book.rows):
            on = row.due - timedelta(days=2)
            if row.seq == len(loan.book.rows):
                # The last instalment in full, early, is more than the payoff (the interest
                # accrues by the day): refused, and the quote closes the loan.
                assert loan.owed(on, row.seq) > loan.book.quote(on).amount
                await loan.pay(on, loan.owed(on, row.seq))
                await loan.pay_off(on)
                break
            answer = await loan.pay(on, loan.owed(on, row.seq))
            assert answer["prepaid_principal"] == "0.00"
            assert [a["seq"] for a in answer["allocation"]] == [row.seq]
            for later in (row.due, row.due + timedelta(days=1)):
                view = await loan.look(later)
                assert (view["days_past_due"], view["classification"]) == (0, "normal")
            assert await loan.pool_days_past_due(row.due) == 0
            assert await loan.pool_days_past_due(row.due + timedelta(days=1)) == 0

    async def test_on_the_due_date(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_principal", term_months=6)
        for row in list(loan.book.rows):
            answer = await loan.pay(row.due, loan.owed(row.due, row.seq))
            assert answer["loan"]["days_past_due"] == 0
            assert answer["allocation"][0]["penalty_interest"] == "0.00"
            assert await loan.pool_days_past_due(row.due) == 0
        assert loan.book.state == "paid_off"

    async def test_45_days_late_then_caught_up(self, desk, conn, clock, runtime):
        from app.loans import sweep

        loan = await _loan(desk, conn, clock, "equal_installment")
        first = loan.book.rows[0]  # due 10 April 2026
        late = first.due + timedelta(days=45)  # 25 May: instalment 2 (10 May) 15 days late too
        view = await loan.look(late)
        assert (view["days_past_due"], view["classification"]) == (45, "special_mention")
        await sweep.classification_sweep(runtime)
        await sweep.classification_sweep(runtime)
        assert D(view["penalty_interest_due"]) > 0
        await loan.quote(late)
        # A part payment goes to instalment 1's penalty, then its interest, then principal.
        await loan.pay(late, D("1000.00"))
        await loan.pay(late, loan.owed(late, 1) - D("0.01"))
        assert (await loan.look(late))["days_past_due"] == 45  # a fen of principal left
        answer = await loan.pay(late, loan.owed(late, 1) + loan.owed(late, 2))
        assert answer["loan"]["classification"] == "normal"
        await sweep.classification_sweep(runtime)
        # Each change announced once: by the sweep as the days passed, by the catching up.
        events = await conn.fetch(
            """SELECT data->>'classification' AS cls FROM outbox_events
               WHERE type = 'loan.classification_changed' AND data->>'loan_id' = $1
               ORDER BY id""",
            loan.loan["id"],
        )
        assert [e["cls"] for e in events] == ["special_mention", "normal"]
        # Instalment 3 (10 June) on time after that.
        third = loan.book.rows[2]
        await loan.pay(third.due, loan.owed(third.due, 3))
        await loan.look(third.due + timedelta(days=3))
        await loan.pay_off(_day("2026-06-20"))

    @pytest.mark.parametrize("option", ["reduce_installment", "shorten_term"])
    @pytest.mark.parametrize(
        "method", ["equal_installment", "equal_principal", "interest_only_bullet"]
    )
    async def test_prepaying_half(self, desk, conn, clock, method, option):
        loan = await _loan(desk, conn, clock, method)
        first = loan.book.rows[0]
        await loan.pay(first.due, loan.owed(first.due, 1))
        on = _day("2026-05-05")  # instalment 2 (10 May) is the current one
        answer = await loan.pay(on, loan.owed(on, 2) + D("600000.00"), option)
        assert answer["prepaid_principal"] == "600000.00"
        # Each later instalment's interest is the balance after the one before × annual / 12.
        balance = D(answer["loan"]["outstanding_principal"])
        for row in loan.book.rows[2:]:
            assert row.interest == fen(Fraction(balance) * Fraction(loan.loan["rate_bp"], 120000))
            balance -= row.principal
        third = loan.book.rows[2]
        await loan.pay(third.due - timedelta(days=1), loan.owed(third.due, 3))
        await loan.look(third.due + timedelta(days=20))
        await loan.quote(third.due + timedelta(days=20))
        # Another prepayment the other way, then payoff mid-period.
        fourth = loan.book.rows[3]
        other = "shorten_term" if option == "reduce_installment" else "reduce_installment"
        await loan.pay(fourth.due, loan.owed(fourth.due, 4) + D("123456.78"), other)
        await loan.pay_off(fourth.due + timedelta(days=17))

    async def test_payoff_mid_period_after_a_part_payment(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_installment")
        first = loan.book.rows[0]
        await loan.pay(first.due, loan.owed(first.due, 1))
        # Part of instalment 2's interest paid early, then payoff: the paid interest counts.
        await loan.pay(_day("2026-04-20"), D("1500.00"))
        await loan.pay_off(_day("2026-04-28"))

    async def test_bullet(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "interest_only_bullet", term_months=6)
        for row in loan.book.rows[:-1]:
            answer = await loan.pay(row.due, loan.owed(row.due, row.seq))
            assert answer["principal_paid"] == "0.00"
        last = loan.book.rows[-1]
        # At maturity the last instalment is what is overdue: paying it is the payoff.
        assert loan.owed(last.due, last.seq) == await loan.quote(last.due)
        await loan.pay_off(last.due)


class TestCalendar:
    async def test_disbursed_on_the_31st(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_principal", disbursed_on="2026-03-31")
        assert [r.due.isoformat() for r in loan.book.rows[:4]] == [
            "2026-04-30",
            "2026-05-31",
            "2026-06-30",
            "2026-07-31",
        ]
        await loan.pay(_day("2026-04-30"), loan.owed(_day("2026-04-30"), 1))
        # Instalment 2 (31 May) paid 30 June, 30 days late, with instalment 3 due that day.
        june = _day("2026-06-30")
        view = await loan.look(june)
        assert view["days_past_due"] == 30
        await loan.pay(june, loan.owed(june, 2) + loan.owed(june, 3))
        await loan.quote(_day("2026-07-15"))
        await loan.pay_off(_day("2026-07-15"))

    async def test_leap_year(self, desk, conn, clock):
        loan = await _loan(
            desk,
            conn,
            clock,
            "equal_installment",
            amount="600000.00",
            term_months=6,
            when="2027-12-20T10:00:00+08:00",
            disbursed_on="2028-01-31",
        )
        assert loan.book.rows[0].due == _day("2028-02-29")
        # Instalment 1 (29 Feb) paid on 10 March: 10 days of penalty.
        on = _day("2028-03-10")
        await loan.look(on)
        await loan.pay(on, loan.owed(on, 1))
        await loan.pay(_day("2028-03-31"), loan.owed(_day("2028-03-31"), 2) + D("100000.00"))
        await loan.look(_day("2028-05-02"))
        await loan.pay_off(_day("2028-05-02"))


class TestAwkwardPostings:
    async def test_current_instalment_paid_early_then_payoff(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_principal")
        # Instalment 1 (10 April) paid in full on 25 March; payoff on 26 March: the accrual on
        # the 1,100,000.00 left for 16 days is below the 3,xxx.xx interest already paid: zero.
        on = _day("2026-03-25")
        await loan.pay(on, loan.owed(on, 1))
        assert loan.book.quote(on + timedelta(days=1)).accrued == D("0.00")
        await loan.pay_off(on + timedelta(days=1))

    async def test_late_principal_paid_in_parts(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_principal", term_months=6)
        # Instalment 1 (10 April) paid in three parts while late: the penalty accrues on what
        # is left each day.
        for on, amount in (("2026-04-20", "50000.00"), ("2026-05-03", "60000.00")):
            await loan.pay(_day(on), D(amount))
            await loan.look(_day(on) + timedelta(days=1))
        on = _day("2026-05-09")
        await loan.pay(on, loan.owed(on, 1))
        await loan.look(_day("2026-05-10"))
        # Paid on its due date with more than it asks: instalment 3 is then the current one.
        on = _day("2026-05-10")
        answer = await loan.pay(on, loan.owed(on, 2) + D("10000.00"))
        assert [a["seq"] for a in answer["allocation"]] == [2, 3]
        await loan.pay_off(_day("2026-06-01"))

    async def test_bullet_interest_late_carries_no_penalty(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "interest_only_bullet", term_months=3)
        view = await loan.look(_day("2026-04-20"))
        assert view["days_past_due"] == 10 and view["penalty_interest_due"] == "0.00"
        await loan.pay(_day("2026-04-20"), loan.owed(_day("2026-04-20"), 1))
        # Past maturity, everything overdue: penalty on the principal from 10 June.
        await loan.look(_day("2026-07-01"))
        await loan.pay_off(_day("2026-07-01"))

    @pytest.mark.parametrize("seed", [1, 2, 3])
    @pytest.mark.parametrize(
        "method", ["equal_installment", "equal_principal", "interest_only_bullet"]
    )
    async def test_a_year_of_irregular_payments(self, desk, conn, clock, method, seed):
        import random

        rng = random.Random(f"{method}-{seed}")
        loan = await _loan(desk, conn, clock, method, amount="987654.32")
        on = date(2026, 3, 10)
        books: list[tuple[date, BackOffice]] = []  # the book at the end of each posting day
        for _ in range(10):
            on += timedelta(days=rng.randint(3, 50))
            quote = loan.book.quote(on)
            if quote.amount == 0:
                break
            kind = rng.random()
            if kind < 0.4:  # what the next unpaid instalment asks
                seq = next(r.seq for r in loan.book.rows if r.unpaid() or r.due <= on)
                amount = min(loan.owed(on, seq), quote.amount)
            elif kind < 0.7:  # a part
                amount = (quote.amount * D(rng.randint(1, 30)) / 1000).quantize(D("0.01"))
            else:  # a prepayment
                amount = (quote.amount * D(rng.randint(100, 600)) / 1000).quantize(D("0.01"))
            option = rng.choice(["reduce_installment", "shorten_term"])
            await loan.pay(on, max(amount, D("0.01")), option)
            books.append((on, copy.deepcopy(loan.book)))
            await loan.quote(on)
            await loan.project(on + timedelta(days=rng.randint(0, 400)))
            await loan.quote(on + timedelta(days=rng.randint(0, 400)), ahead=True)
            await loan.look(on + timedelta(days=rng.randint(0, 40)))
        if loan.book.state == "active":
            on += timedelta(days=rng.randint(1, 20))
            await loan.pay_off(on)
            books.append((on, copy.deepcopy(loan.book)))
        # Read as of an earlier date, the loan is what the postings up to that date made it.
        final = loan.book
        for day, book in books:
            for seen_on in (day, day + timedelta(days=rng.randint(1, 9))):
                later = [b for d, b in books if d <= seen_on]
                loan.book = later[-1] if later else book
                if loan.book.state == "active":
                    await loan.project(seen_on)
        loan.book = final

    async def test_a_posting_dated_before_an_earlier_posted_one(self, desk, conn, clock):
        loan = await _loan(desk, conn, clock, "equal_principal", term_months=6)
        # Postings apply in value-date order: one dated before the latest already posted is
        # refused and changes nothing (the earlier postings' allocations stand).
        await loan.pay(_day("2026-05-20"), D("150000.00"))
        loan.today(_day("2026-05-25"))
        response = await desk.client.post(
            f"{loan.url}/repayments",
            json={"paid_on": "2026-05-05", "amount": "60000.00"},
            headers=desk.officer,
        )
        assert response.status_code == 422 and slug(response) == "validation-error"
        await loan.look(_day("2026-05-25"))
        await loan.pay_off(_day("2026-05-25"))


# --- the calculator against the service's engine, over random loans and payments -------------


def _engine_rows(schedule) -> list[tuple]:
    def money(fen: int) -> str:
        return f"{D(fen) / 100:.2f}"

    return [
        (
            i.seq,
            i.due_date.isoformat(),
            money(i.principal),
            money(i.interest),
            money(i.paid_principal),
            money(i.paid_interest),
            money(i.paid_penalty),
        )
        for i in schedule
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    principal=st.integers(min_value=10_000, max_value=500_000_000),  # fen
    rate_bp=st.integers(min_value=100, max_value=1800),
    months=st.integers(min_value=1, max_value=36),
    method=st.sampled_from(["equal_installment", "equal_principal", "interest_only_bullet"]),
    disbursed=st.dates(min_value=date(2023, 1, 1), max_value=date(2029, 12, 31)),
    data=st.data(),
)
def test_the_engine_agrees_with_the_back_office(
    principal, rate_bp, months, method, disbursed, data
):

    amount = D(principal) / 100
    book = BackOffice(
        principal=f"{amount:.2f}",
        rate_bp=rate_bp,
        months=months,
        method=method,
        disbursed=disbursed,
    )
    terms = Terms(
        principal=principal,
        rate_bp=rate_bp,
        method=RepaymentMethod(method),
        disbursed_on=disbursed,
        term_months=months,
    )
    schedule = initial_schedule(terms)
    assert _engine_rows(schedule) == _rows(book.rows)
    on = disbursed
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        on += timedelta(days=data.draw(st.integers(min_value=0, max_value=70)))
        mine_quote, theirs = book.quote(on), quote(schedule, on, terms)
        assert (
            theirs.overdue_principal,
            theirs.overdue_interest,
            theirs.penalty_interest,
            theirs.outstanding_principal,
            theirs.accrued_interest,
        ) == tuple(
            int(v * 100)
            for v in (
                mine_quote.overdue_principal,
                mine_quote.overdue_interest,
                mine_quote.penalty,
                mine_quote.outstanding,
                mine_quote.accrued,
            )
        )
        seen = standing(schedule, on, terms, defaulted=False)
        assert (seen.days_past_due, seen.penalty_interest_due, seen.classification.value) == (
            book.days_past_due(on),
            int(book.penalty_interest_due(on) * 100),
            book.classification(on),
        )
        payoff = mine_quote.amount
        share = data.draw(st.sampled_from([None, 1, 5, 50, 300, 700, 999, 1000, 1001]))
        if share is None:  # the next unpaid instalment, penalty included
            row = next((r for r in book.rows if r.unpaid()), book.rows[-1])
            due = book.penalty_due(row, on) if row.due <= on else D(0)
            pay = row.principal - row.paid_p + row.interest - row.paid_i + due
        else:
            pay = (payoff * share / 1000).quantize(D("0.01"))
        if pay <= 0:
            continue
        option = data.draw(st.sampled_from(["reduce_installment", "shorten_term"]))
        fen_amount = int(pay * 100)
        try:
            posting = post(schedule, terms, Repayment(on, fen_amount, PrepaymentOption(option)))
        except EngineOverpayment:
            posting = None
        if posting is None:
            with pytest.raises(Overpayment):
                book.pay(on, f"{pay:.2f}", option)
            continue
        mine = book.pay(on, f"{pay:.2f}", option)
        assert [
            (
                line.seq,
                *(
                    f"{D(v) / 100:.2f}"
                    for v in (line.penalty_interest, line.interest, line.principal)
                ),
            )
            for line in posting.lines
        ] == [(s, *(f"{v:.2f}" for v in parts)) for s, parts in sorted(mine.lines.items())]
        assert posting.prepaid_principal == int(mine.prepaid * 100)
        assert posting.paid_off == (book.state == "paid_off")
        schedule = posting.schedule
        assert _engine_rows(schedule) == _rows(book.rows)
        if posting.paid_off:
            break
