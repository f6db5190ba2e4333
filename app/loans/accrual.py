"""Accrual: penalty interest on overdue principal, the current period's accrued interest, and
days past due (SPEC.md 3.6).

- **Penalty interest** (罚息): an instalment's unpaid principal accrues, from the day after its
  due date to the day it is paid (both counted), at rate × (1 + uplift) / 360 a day, simple.
  The accrual is kept exactly (fen-days of overdue principal) and rounded half-up to the fen
  once, on its total; what is due is that total less what has been paid of it.
- **Accrued interest** of the current period: the principal not yet due × rate / 360 a day,
  from the previous due date (or the disbursement) to the date, half-up to the fen.
- **Days past due** on a date: the age in days of the oldest instalment due on or before it
  whose principal or interest is not fully paid; due that very day is 0.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from app.loans.ledger import Instalment, Schedule, Terms
from app.loans.schedule import half_up

_DAILY_BP = 3_600_000  # basis points a year → fraction a day: rate_bp / 10000 / 360


def penalty_base_to(inst: Instalment, on: date) -> int:
    """The instalment's overdue fen-days accrued up to ``on`` (0 before it falls overdue)."""
    start = inst.penalty_to if inst.penalty_to is not None else inst.due_date
    days = (on - start).days
    if days <= 0 or inst.unpaid_principal <= 0:
        return inst.penalty_base
    return inst.penalty_base + inst.unpaid_principal * days


def penalty_total(base: int, rate_bp: int, uplift: Fraction) -> int:
    """Penalty interest in fen on ``base`` fen-days, half-up."""
    if base == 0:
        return 0
    # × (1 + uplift), in integers: (den + num) / den.
    den = uplift.denominator
    return half_up(base * rate_bp * (den + uplift.numerator), _DAILY_BP * den)


def penalty_due(inst: Instalment, on: date, terms: Terms) -> int:
    """The instalment's penalty interest accrued to ``on`` and not yet paid."""
    total = penalty_total(penalty_base_to(inst, on), terms.rate_bp, terms.penalty_uplift)
    return max(0, total - inst.paid_penalty)


def penalty_interest_due(schedule: Schedule, on: date, terms: Terms) -> int:
    total = 0
    for inst in schedule:
        if inst.due_date >= on:
            break  # instalments fall due in ``seq`` order: none after this one is overdue
        total += penalty_due(inst, on, terms)
    return total


def current_index(schedule: Schedule, on: date) -> int | None:
    """The index of the current instalment on ``on``: the first not yet due (None after the
    last due date)."""
    for k, inst in enumerate(schedule):
        if inst.due_date > on:
            return k
    return None


def period_start(schedule: Schedule, k: int, terms: Terms) -> date:
    """When the period of the instalment at index ``k`` began: the previous due date, or the
    disbursement for the first."""
    return schedule[k - 1].due_date if k > 0 else terms.disbursed_on


def accrued_interest(schedule: Schedule, on: date, terms: Terms, *, k: int, not_due: int) -> int:
    """The current period's interest accrued to ``on`` on the principal not yet due
    (``not_due``), at rate / 360 a day, less the current instalment's (index ``k``) interest
    already paid; never below 0."""
    days = (on - period_start(schedule, k, terms)).days
    accrued = half_up(not_due * terms.rate_bp * days, _DAILY_BP)
    return max(0, accrued - schedule[k].paid_interest)


def oldest_unsettled(schedule: Schedule) -> date | None:
    for inst in schedule:
        if not inst.settled:
            return inst.due_date
    return None


def days_past_due(schedule: Schedule, on: date) -> int:
    oldest = oldest_unsettled(schedule)
    if oldest is None or oldest >= on:
        return 0
    return (on - oldest).days
