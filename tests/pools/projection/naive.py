"""A second projection, written the plain way: every loan, every month, in floats, straight
from the words of SPEC 3.9a. No aggregation, no closed forms, no rounding until the end."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NaiveTranche:
    name: str
    share: float
    coupon_bp: int
    balance: float = 0.0
    shortfall: float = 0.0
    interest: list[float] = field(default_factory=list)
    principal: list[float] = field(default_factory=list)
    writedown: list[float] = field(default_factory=list)


@dataclass
class NaiveMonth:
    beginning: float = 0.0
    defaults: float = 0.0
    scheduled_principal: float = 0.0
    prepayments: float = 0.0
    interest: float = 0.0
    recoveries: float = 0.0
    losses: float = 0.0
    fees: float = 0.0


def collateral(
    balances: list[float],
    principal: list[list[float]],
    interest: list[list[float]],
    *,
    cpr: float,
    cdr: float,
    recovery_rate: float,
    lag: int,
) -> list[NaiveMonth]:
    smm = 1 - (1 - cpr) ** (1 / 12)
    mdr = 1 - (1 - cdr) ** (1 / 12)
    months = len(principal[0]) if principal else 0
    horizon = months + lag
    out = [NaiveMonth() for _ in range(horizon)]
    for loan, start in enumerate(balances):
        balance = start
        scheduled = start  # the loan's balance had nothing defaulted or prepaid
        for t in range(months):
            row = out[t]
            row.beginning += balance
            defaulted = mdr * balance
            balance -= defaulted
            # The survivors pay the loan's own schedule, scaled by the share still there.
            share = balance / scheduled if scheduled > 0 else 0.0
            paid = share * principal[loan][t]
            row.interest += share * interest[loan][t]
            balance -= paid
            scheduled -= principal[loan][t]
            prepaid = smm * balance
            balance -= prepaid
            row.defaults += defaulted
            row.scheduled_principal += paid
            row.prepayments += prepaid
            out[t + lag].recoveries += recovery_rate * defaulted
            row.losses += (1 - recovery_rate) * defaulted
    return out


def waterfall(
    months: list[NaiveMonth], tranches: list[NaiveTranche], *, fees_bp: int
) -> list[NaiveTranche]:
    total = months[0].beginning
    for tranche in tranches:
        tranche.balance = tranche.share * total
    fees_owed = 0.0
    for month in months:
        cash = month.interest
        fees_owed += fees_bp / 12 / 10_000 * month.beginning
        month.fees = min(fees_owed, cash)
        fees_owed -= month.fees
        cash -= month.fees
        for tranche in tranches:  # senior first
            due = tranche.coupon_bp / 12 / 10_000 * tranche.balance + tranche.shortfall
            paid = min(due, cash)
            tranche.interest.append(paid)
            tranche.shortfall = due - paid
            cash -= paid
        cash = month.scheduled_principal + month.prepayments + month.recoveries
        for tranche in tranches:  # sequential
            paid = min(cash, tranche.balance)
            tranche.principal.append(paid)
            tranche.balance -= paid
            cash -= paid
        loss = month.losses
        for tranche in reversed(tranches):  # most junior first
            down = min(loss, tranche.balance)
            tranche.writedown.append(down)
            tranche.balance -= down
            loss -= down
    return tranches
