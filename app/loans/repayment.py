"""Repayments against a schedule: allocation, what is owed, days past due (SPEC.md 3.6).

SPEC says a repayment "pays the oldest due amounts first, interest before principal". Where it
is silent, the rule is this, and nothing else:

1. Instalments already due (``due_date <= paid_on``), oldest first: each one's unpaid
   interest, then its unpaid principal, before the next instalment is touched. A repayment on
   a due date counts that instalment as due.
2. Whatever remains prepays principal of the instalments not yet due, oldest first. A
   prepayment does not re-amortise the schedule: it pays no interest, the instalments keep
   their scheduled interest, and an instalment whose principal was prepaid still owes its
   interest when it falls due.
3. Once all principal is repaid the loan is paid off and owes nothing more: the scheduled
   interest of later instalments is never charged.

What can be paid on ``paid_on`` is therefore the unpaid interest of the instalments due by then
plus all unpaid principal (``outstanding_for_payment``); paying more raises ``Overpayment``.

Days past due as of a date is the age in days of the oldest instalment due on or before that
date that is not fully paid (interest or principal); an instalment due that very day is 0 days
past due, and a loan with nothing unpaid is 0.

Amounts are Decimals with two decimals; allocation only adds and subtracts, so nothing rounds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

FEN = Decimal("0.01")
_ZERO = Decimal("0.00")


class Overpayment(Exception):
    """The amount is more than can be paid on that date."""

    def __init__(self, outstanding: Decimal) -> None:
        super().__init__(f"amount exceeds the {outstanding:.2f} outstanding")
        self.outstanding = outstanding


class InstallmentState(NamedTuple):
    """An instalment and what has been paid on it (a tuple: postings build two dozen a call)."""

    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    paid_principal: Decimal
    paid_interest: Decimal

    @property
    def unpaid_principal(self) -> Decimal:
        return self.principal - self.paid_principal

    @property
    def unpaid_interest(self) -> Decimal:
        return self.interest - self.paid_interest

    @property
    def settled(self) -> bool:
        return self.paid_principal >= self.principal and self.paid_interest >= self.interest


@dataclass(frozen=True, slots=True)
class AllocationLine:
    """What one repayment paid on one instalment."""

    seq: int
    interest: Decimal
    principal: Decimal


@dataclass(frozen=True, slots=True)
class Allocation:
    lines: tuple[AllocationLine, ...]  # by seq; only instalments the repayment touched
    principal_paid: Decimal
    interest_paid: Decimal


def outstanding_principal(installments: Sequence[InstallmentState]) -> Decimal:
    # Two sums of the fields rather than one of a property: a posting takes this three times
    # over two dozen instalments.
    scheduled = sum([i.principal for i in installments], _ZERO)
    return _money(scheduled - sum([i.paid_principal for i in installments], _ZERO))


def outstanding_for_payment(installments: Sequence[InstallmentState], paid_on: date) -> Decimal:
    """The most a repayment on ``paid_on`` may pay: interest due by then plus all principal."""
    principal = outstanding_principal(installments)
    if principal <= 0:
        return _ZERO
    interest = sum(
        [i.interest - i.paid_interest for i in installments if i.due_date <= paid_on], _ZERO
    )
    return _money(principal + interest)


def allocate(
    *, installments: Sequence[InstallmentState], amount: Decimal, paid_on: date
) -> Allocation:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be a positive Decimal")
    if amount != amount.quantize(FEN):
        raise ValueError("amount must be a whole number of fen")
    outstanding = outstanding_for_payment(installments, paid_on)
    if amount > outstanding:
        raise Overpayment(outstanding)

    ordered = sorted(installments, key=_seq)
    paid: dict[int, list[Decimal]] = {}  # seq → [interest, principal]
    left = amount
    for seq, slot, amount_owed in _owed_in_order(ordered, paid_on):
        if amount_owed <= 0:
            continue
        part = amount_owed if amount_owed < left else left
        paid.setdefault(seq, [_ZERO, _ZERO])[slot] += part
        left -= part
        if left <= 0:
            break
    # The outstanding check above guarantees that what is owed takes the whole amount.
    assert left == 0

    lines = tuple(
        AllocationLine(seq=seq, interest=_money(interest), principal=_money(principal))
        for seq, (interest, principal) in sorted(paid.items())
    )
    return Allocation(
        lines=lines,
        principal_paid=_money(sum((line.principal for line in lines), _ZERO)),
        interest_paid=_money(sum((line.interest for line in lines), _ZERO)),
    )


def days_past_due(
    installments: Sequence[InstallmentState], as_of: date, *, outstanding: Decimal | None = None
) -> int:
    """``outstanding``: the outstanding principal, when the caller already has it."""
    if outstanding is None:
        outstanding = outstanding_principal(installments)
    if outstanding <= 0:
        return 0
    overdue = [
        i.due_date
        for i in installments
        if i.due_date <= as_of
        and (i.paid_principal < i.principal or i.paid_interest < i.interest)  # not settled
    ]
    return (as_of - min(overdue)).days if overdue else 0


def _owed_in_order(
    ordered: Sequence[InstallmentState], paid_on: date
) -> Iterator[tuple[int, int, Decimal]]:
    """What is owed, in the order a repayment pays it: ``(seq, slot, owed)``, slot 0 for
    interest and 1 for principal (rules 1 and 2 of the module's docstring)."""
    for inst in ordered:
        if inst.due_date <= paid_on:
            yield inst.seq, 0, inst.interest - inst.paid_interest
            yield inst.seq, 1, inst.principal - inst.paid_principal
    for inst in ordered:
        if inst.due_date > paid_on:
            yield inst.seq, 1, inst.principal - inst.paid_principal


def _seq(installment: InstallmentState) -> int:
    return installment.seq


def _money(value: Decimal) -> Decimal:
    return value.quantize(FEN)
