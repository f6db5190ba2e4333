"""Repayment schedules: monthly instalments for a disbursed loan (SPEC.md 3.6).

Rules:

- ``term_months`` instalments, due monthly on the disbursement's day of month, or on the
  month's last day where it has none. Every due date is counted from the disbursement date
  (31 January → 28/29 February, 31 March, 30 April…), never from the previous due date, so a
  short month never drags the later ones.
- A month's interest is the outstanding principal at the start of the month × rate_bp / 10000
  / 12, rounded half-up to the fen.
- ``interest_only_bullet``: interest every month, all principal with the last instalment.
- ``equal_installment`` (等额本息): the annuity payment A = P·r·(1+r)^n / ((1+r)^n − 1),
  r = rate_bp / 120000 (P / n at rate 0), rounded half-up to the fen. Every instalment but
  the last totals exactly A (interest rounded, principal = A − interest); the last repays the
  remaining principal with its interest.
- ``equal_principal`` (等额本金): P / n rounded half-up to the fen for every instalment but
  the last, interest on the declining balance.
- The last instalment takes whatever principal remains, so Σ principal == P exactly.

Amounts are computed in whole fen on Python integers, so every division and rounding is exact,
including the annuity's (1+r)^n, which a fixed-precision decimal can only approximate: an
annuity that falls exactly on a half fen rounds up, as the rule says. Decimals come in and go
out.

Where half-up rounding of the level amount (A, or P / n) would make the first n − 1
instalments repay all the principal or more, the level amount is one fen less, which is always
enough. That only touches loans of a few yuan (at rate 0, up to about 0.005·n·(n − 1) yuan:
17.70 over 60 months) and guarantees that every amount is non-negative and that the last
instalment repays some principal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum

MAX_TERM_MONTHS = 60
FEN = Decimal("0.01")  # int fen × FEN is exact and keeps two decimals: 100 → Decimal("1.00")
# No decimal operation here may round (amounts have at most 21 digits); one that would, raises.
_CONTEXT = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_MONTHLY_BP = 120_000  # basis points a year → fraction a month: rate_bp / 10000 / 12
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class RepaymentMethod(StrEnum):
    INTEREST_ONLY_BULLET = "interest_only_bullet"
    EQUAL_INSTALLMENT = "equal_installment"
    EQUAL_PRINCIPAL = "equal_principal"


@dataclass(frozen=True, slots=True)
class Installment:
    seq: int  # 1..term_months
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def due_date(disbursed_on: date, k: int) -> date:
    """The k-th monthly due date after ``disbursed_on`` (k = 0 is the disbursement itself)."""
    if k < 0:
        raise ValueError("k must be 0 or more")
    months = disbursed_on.month - 1 + k
    year = disbursed_on.year + months // 12
    month = months % 12 + 1
    return date(year, month, min(disbursed_on.day, _days_in_month(year, month)))


def _due_dates(disbursed_on: date, n: int) -> Iterator[date]:
    """due_date(disbursed_on, k) for k = 1..n, without redoing the month arithmetic each time."""
    day, year, month = disbursed_on.day, disbursed_on.year, disbursed_on.month
    for _ in range(n):
        if month == 12:
            year, month = year + 1, 1
        else:
            month += 1
        yield date(year, month, day if day <= 28 else min(day, _days_in_month(year, month)))


def maturity_date(disbursed_on: date, term_months: int) -> date:
    """The last instalment's due date."""
    _check_term(term_months)
    return due_date(disbursed_on, term_months)


def build_schedule(
    *,
    principal: Decimal,
    rate_bp: int,
    term_months: int,
    disbursed_on: date,
    method: RepaymentMethod,
) -> tuple[Installment, ...]:
    _check_term(term_months)
    if isinstance(rate_bp, bool) or not isinstance(rate_bp, int) or rate_bp < 0:
        raise ValueError("rate_bp must be a non-negative integer")
    with localcontext(_CONTEXT):
        p = _to_fen(principal)
        rows = _BUILDERS[RepaymentMethod(method)](p, rate_bp, term_months)
        return tuple(
            Installment(seq, due, Decimal(principal_fen) * FEN, Decimal(interest_fen) * FEN)
            for seq, due, (principal_fen, interest_fen) in zip(
                range(1, term_months + 1), _due_dates(disbursed_on, term_months), rows, strict=True
            )
        )


# -- whole-fen arithmetic ---------------------------------------------------------------------

Rows = list[tuple[int, int]]  # (principal, interest) in fen, one per instalment


def _check_term(term_months: int) -> None:
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        raise ValueError("term_months must be an integer")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term_months must be between 1 and {MAX_TERM_MONTHS}")


def _to_fen(amount: Decimal) -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError("principal must be a positive Decimal")
    fen = amount.scaleb(2)
    if fen != fen.to_integral_value():
        raise ValueError("principal must be a whole number of fen")
    return int(fen)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, both non-negative."""
    return (2 * numerator + denominator) // (2 * denominator)


def _interest(balance: int, rate_bp: int) -> int:
    return _half_up(balance * rate_bp, _MONTHLY_BP)


def _annuity_fen(p: int, rate_bp: int, n: int) -> int:
    if rate_bp == 0:
        return _half_up(p, n)
    # A = P·r·(1+r)^n / ((1+r)^n − 1) with r = k / D, multiplied through by D^n:
    # A = P·k·(D+k)^n / (D·((D+k)^n − D^n)), exact in integers.
    grown = (_MONTHLY_BP + rate_bp) ** n
    return _half_up(p * rate_bp * grown, _MONTHLY_BP * (grown - _MONTHLY_BP**n))


def _interest_only_bullet(p: int, rate_bp: int, n: int) -> Rows:
    interest = _interest(p, rate_bp)
    rows = [(0, interest)] * (n - 1)
    rows.append((p, interest))
    return rows


def _level_rows(p: int, rate_bp: int, n: int, payment: int) -> Rows | None:
    """Instalments totalling ``payment`` each but the last; None if they leave it no principal."""
    rows: Rows = []
    balance = p
    for _ in range(n - 1):
        interest = _interest(balance, rate_bp)
        principal = payment - interest
        balance -= principal
        rows.append((principal, interest))
    if balance <= 0:
        return None
    rows.append((balance, _interest(balance, rate_bp)))
    return rows


def _equal_installment(p: int, rate_bp: int, n: int) -> Rows:
    payment = _annuity_fen(p, rate_bp, n)
    rows = _level_rows(p, rate_bp, n, payment)
    if rows is None:
        # One fen under the half-up A is below the exact annuity, so each principal part is at
        # most the exact schedule's and the balance stays at or above its (positive) balance.
        rows = _level_rows(p, rate_bp, n, payment - 1)
    assert rows is not None
    return rows


def _equal_principal(p: int, rate_bp: int, n: int) -> Rows:
    part = _half_up(p, n)
    if part * (n - 1) >= p:
        part -= 1
    rows: Rows = []
    balance = p
    for _ in range(n - 1):
        rows.append((part, _interest(balance, rate_bp)))
        balance -= part
    rows.append((balance, _interest(balance, rate_bp)))
    return rows


_BUILDERS: dict[RepaymentMethod, Callable[[int, int, int], Rows]] = {
    RepaymentMethod.INTEREST_ONLY_BULLET: _interest_only_bullet,
    RepaymentMethod.EQUAL_INSTALLMENT: _equal_installment,
    RepaymentMethod.EQUAL_PRINCIPAL: _equal_principal,
}


# -- for re-amortisation (``app.loans.reamortise``) -------------------------------------------


def amortise_fen(method: RepaymentMethod, principal_fen: int, rate_bp: int, n: int) -> Rows:
    """The ``(principal, interest)`` rows, in fen, of ``n`` monthly instalments repaying
    ``principal_fen`` under ``method``: the disbursement's rules applied to a balance."""
    return _BUILDERS[RepaymentMethod(method)](principal_fen, rate_bp, n)


def monthly_interest_fen(balance_fen: int, rate_bp: int) -> int:
    """A month's interest on a balance: balance × rate / 12, half-up to the fen."""
    return _interest(balance_fen, rate_bp)


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, both non-negative."""
    return _half_up(numerator, denominator)
