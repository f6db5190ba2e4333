"""Allocation of a repayment, as of its value date ``paid_on`` (SPEC.md 3.6), in this order:

1. what is overdue (instalments due on or before ``paid_on``), oldest first: each one's
   penalty interest accrued to ``paid_on``, then its interest, then its principal, before the
   next instalment is touched;
2. the current instalment (the first not yet due on ``paid_on``): its interest, then its
   principal, up to their scheduled amounts; paid in full, it is settled and never falls past
   due;
3. the remainder prepays principal: it is added to the current instalment (principal and
   payment alike, so the schedule still sums to the loan's principal) and the later
   instalments are re-amortised on the new balance (``app.loans.reamortise``).

More than the payoff amount raises ``Overpayment``; exactly the payoff amount is posted as the
payoff (``app.loans.payoff``); less than it, but enough to repay all principal, raises
``PayoffRequired``.
"""

from __future__ import annotations

from app.loans import payoff as payoff_rules
from app.loans.accrual import current_index, penalty_base_to, penalty_total
from app.loans.ledger import (
    Instalment,
    Overpayment,
    PaidLine,
    PayoffRequired,
    Posting,
    PrepaymentOption,
    Repayment,
    Schedule,
    Terms,
)
from app.loans.reamortise import reamortise


def post(schedule: Schedule, terms: Terms, repayment: Repayment) -> Posting:
    on, amount = repayment.paid_on, repayment.amount
    if amount <= 0:
        raise ValueError("amount must be positive")
    quote = payoff_rules.quote(schedule, on, terms)
    if amount > quote.amount:
        raise Overpayment(quote.amount)
    if amount == quote.amount:
        return payoff_rules.settle(schedule, on, terms, quote)

    rows = list(schedule)
    lines: list[PaidLine] = []
    left = amount
    k = current_index(schedule, on)
    for n, inst in enumerate(rows if k is None else rows[:k]):
        if left == 0:
            break
        base = penalty_base_to(inst, on)
        penalty = max(
            0, penalty_total(base, terms.rate_bp, terms.penalty_uplift) - inst.paid_penalty
        )
        pen = min(left, penalty)
        interest = min(left - pen, inst.unpaid_interest)
        principal = min(left - pen - interest, inst.unpaid_principal)
        if pen or interest or principal:
            left -= pen + interest + principal
            lines.append(PaidLine(inst.seq, pen, interest, principal))
            rows[n] = inst._replace(
                paid_penalty=inst.paid_penalty + pen,
                paid_interest=inst.paid_interest + interest,
                paid_principal=inst.paid_principal + principal,
                penalty_base=base,
                penalty_to=on,
            )
    prepaid = 0
    if k is not None and left > 0:
        current = rows[k]
        interest = min(left, current.unpaid_interest)
        principal = min(left - interest, current.unpaid_principal)
        left -= interest + principal
        if interest or principal:
            lines.append(PaidLine(current.seq, 0, interest, principal))
        prepaid, left = left, 0
        rows[k] = current._replace(
            principal=current.principal + prepaid,
            paid_interest=current.paid_interest + interest,
            paid_principal=current.paid_principal + principal + prepaid,
        )
        if prepaid:
            rows = _prepay(rows, k, prepaid, terms, repayment.option, quote.amount)
    if left:  # cannot happen below the payoff amount: what is owed takes it all
        raise AssertionError("repayment not fully allocated")
    return Posting(
        lines=tuple(lines), prepaid_principal=prepaid, schedule=tuple(rows), paid_off=False
    )


def _prepay(
    rows: list[Instalment],
    k: int,
    prepaid: int,
    terms: Terms,
    option: PrepaymentOption,
    payoff: int,
) -> list[Instalment]:
    later = tuple(rows[k + 1 :])
    balance = sum(i.unpaid_principal for i in later) - prepaid
    if balance <= 0:
        raise PayoffRequired(payoff)
    return rows[: k + 1] + list(
        reamortise(
            later, balance=balance, rate_bp=terms.rate_bp, method=terms.method, option=option
        )
    )
