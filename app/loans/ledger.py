"""The servicing core's facts: a loan's terms and its schedule with what has been paid.

The core (``accrual``, ``allocation``, ``reamortise``, ``payoff``, ``classification`` and
``servicing``) is plain functions over these values, with no database. Every amount in it is a
whole number of fen (a Python ``int``), so that adding, comparing and rounding are exact;
``to_fen`` and ``to_money`` convert at the edge, where amounts are two-decimal ``Decimal``s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from app.loans.schedule import FEN, RepaymentMethod

DEFAULT_PENALTY_UPLIFT = Fraction(1, 2)


class PrepaymentOption(StrEnum):
    REDUCE_INSTALLMENT = "reduce_installment"
    SHORTEN_TERM = "shorten_term"


@dataclass(frozen=True, slots=True)
class Terms:
    """What a loan was disbursed on; ``penalty_uplift``: 0.5 makes penalty interest 1.5× the
    loan's rate."""

    principal: int
    rate_bp: int
    method: RepaymentMethod
    disbursed_on: date
    term_months: int
    penalty_uplift: Fraction = DEFAULT_PENALTY_UPLIFT


class Instalment(NamedTuple):
    """One instalment as it stands. ``principal`` and ``interest`` are what it is scheduled
    to repay now (re-amortisation changes the later ones; a prepayment is added to the
    principal of the instalment current when it was made, together with its payment, so that
    the schedule always sums to the loan's principal). ``penalty_base`` is the overdue
    principal accrued for penalty interest up to ``penalty_to``, in fen-days (Σ unpaid
    principal × days), so that penalty interest is rounded once, on its total."""

    seq: int
    due_date: date
    principal: int
    interest: int
    paid_principal: int = 0
    paid_interest: int = 0
    paid_penalty: int = 0
    penalty_base: int = 0
    penalty_to: date | None = None

    @property
    def unpaid_principal(self) -> int:
        return self.principal - self.paid_principal

    @property
    def unpaid_interest(self) -> int:
        return self.interest - self.paid_interest

    @property
    def settled(self) -> bool:
        return self.paid_principal >= self.principal and self.paid_interest >= self.interest


Schedule = tuple[Instalment, ...]


class Repayment(NamedTuple):
    """A repayment as posted: its value date, amount (fen) and prepayment option."""

    paid_on: date
    amount: int
    option: PrepaymentOption = PrepaymentOption.REDUCE_INSTALLMENT


@dataclass(frozen=True, slots=True)
class PaidLine:
    """What one repayment paid on one instalment."""

    seq: int
    penalty_interest: int
    interest: int
    principal: int


@dataclass(frozen=True, slots=True)
class Posting:
    """A repayment's outcome: the lines it paid (by seq), the principal it prepaid beyond
    them, and the schedule after it (re-amortised where it prepaid)."""

    lines: tuple[PaidLine, ...]
    prepaid_principal: int
    schedule: Schedule
    paid_off: bool

    @property
    def principal_paid(self) -> int:
        return sum(line.principal for line in self.lines) + self.prepaid_principal

    @property
    def interest_paid(self) -> int:
        return sum(line.interest for line in self.lines)

    @property
    def penalty_paid(self) -> int:
        return sum(line.penalty_interest for line in self.lines)


class Overpayment(Exception):
    """More than the payoff amount on the value date."""

    def __init__(self, payoff: int) -> None:
        super().__init__(f"amount exceeds the payoff amount of {payoff} fen")
        self.payoff = payoff


class PayoffRequired(Exception):
    """Less than the payoff amount, but enough to repay every fen of principal: the accrued
    interest would be left owing on a loan with no principal. Only the payoff amount closes a
    loan."""

    def __init__(self, payoff: int) -> None:
        super().__init__(f"a payment that repays all principal must be the payoff, {payoff} fen")
        self.payoff = payoff


def to_fen(amount: Decimal) -> int:
    fen = amount.scaleb(2)
    if fen != fen.to_integral_value():
        raise ValueError("amount must be a whole number of fen")
    return int(fen)


def to_money(fen: int) -> Decimal:
    return Decimal(fen) * FEN


def outstanding_principal(schedule: Schedule) -> int:
    # Summed in C (a posting sums a schedule's principal several times): a third of the cost
    # of summing a generator.
    return sum(map(_PRINCIPAL, schedule)) - sum(map(_PAID_PRINCIPAL, schedule))


def unpaid_interest(schedule: Schedule) -> int:
    return sum(map(_INTEREST, schedule)) - sum(map(_PAID_INTEREST, schedule))


_PRINCIPAL: Callable[[Instalment], int] = attrgetter("principal")
_PAID_PRINCIPAL: Callable[[Instalment], int] = attrgetter("paid_principal")
_INTEREST: Callable[[Instalment], int] = attrgetter("interest")
_PAID_INTEREST: Callable[[Instalment], int] = attrgetter("paid_interest")


@lru_cache(maxsize=16)
def uplift_fraction(uplift: float | Decimal | Fraction) -> Fraction:
    """The uplift setting as an exact fraction (a float setting is read by its decimal text)."""
    if isinstance(uplift, float):
        return Fraction(Decimal(repr(uplift)))
    return Fraction(uplift)
