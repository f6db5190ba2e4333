"""Payoff: the exact amount that closes a loan on a date, and its posting (SPEC.md 3.6).

The amount is what is overdue (principal, interest and penalty interest accrued to the date),
the principal not yet due, and the current period's interest accrued on that principal from
the previous due date (or the disbursement) at rate / 360 a day, less what of the current
period's interest is already paid (never below zero). Paid exactly, it is allocated as its
parts: the accrued interest takes the place of the current instalment's scheduled interest, the
principal of the later instalments is prepaid, and the schedule ends with the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.loans.accrual import accrued_interest, current_index, penalty_base_to, penalty_due
from app.loans.ledger import (
    Instalment,
    PaidLine,
    Posting,
    Schedule,
    Terms,
    outstanding_principal,
    unpaid_interest,
)


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    on: date
    overdue_principal: int
    overdue_interest: int
    penalty_interest: int
    accrued_interest: int
    outstanding_principal: int  # not yet due

    @property
    def amount(self) -> int:
        return (
            self.overdue_principal
            + self.overdue_interest
            + self.penalty_interest
            + self.accrued_interest
            + self.outstanding_principal
        )


def quote(schedule: Schedule, on: date, terms: Terms) -> PayoffQuote:
    # Instalments fall due in ``seq`` order: those due by ``on`` are the ones before the
    # current instalment, the principal not yet due is that of the current one and after.
    k = current_index(schedule, on)
    if k is None:
        overdue, not_due, accrued = schedule, 0, 0
    else:
        overdue, not_due = schedule[:k], outstanding_principal(schedule[k:])
        accrued = accrued_interest(schedule, on, terms, k=k, not_due=not_due)
    return PayoffQuote(
        on=on,
        overdue_principal=outstanding_principal(overdue),
        overdue_interest=unpaid_interest(overdue),
        penalty_interest=sum(penalty_due(i, on, terms) for i in overdue),
        accrued_interest=accrued,
        outstanding_principal=not_due,
    )


def settle(schedule: Schedule, on: date, terms: Terms, payoff: PayoffQuote) -> Posting:
    """The posting of exactly ``payoff.amount`` on ``on``."""
    rows: list[Instalment] = []
    lines: list[PaidLine] = []
    k = current_index(schedule, on)
    for inst in schedule if k is None else schedule[:k]:
        penalty = penalty_due(inst, on, terms)
        interest, principal = inst.unpaid_interest, inst.unpaid_principal
        if penalty or interest or principal:
            lines.append(PaidLine(inst.seq, penalty, interest, principal))
            inst = inst._replace(
                paid_penalty=inst.paid_penalty + penalty,
                paid_interest=inst.interest,
                paid_principal=inst.principal,
                penalty_base=penalty_base_to(inst, on),
                penalty_to=on,
            )
        rows.append(inst)
    prepaid = 0
    if k is not None:
        current = schedule[k]
        accrued, principal = payoff.accrued_interest, current.unpaid_principal
        prepaid = sum(i.unpaid_principal for i in schedule[k + 1 :])
        if accrued or principal:
            lines.append(PaidLine(current.seq, 0, accrued, principal))
        interest = current.paid_interest + accrued
        rows.append(
            current._replace(
                principal=current.principal + prepaid,
                paid_principal=current.principal + prepaid,
                interest=interest,
                paid_interest=interest,
            )
        )
    return Posting(
        lines=tuple(lines), prepaid_principal=prepaid, schedule=tuple(rows), paid_off=True
    )
