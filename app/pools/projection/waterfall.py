"""The monthly waterfall, in integer fen (SPEC 3.9a).

Interest collected pays, in order: the fees (``fees_bp`` a year on the pool's beginning
balance), then each tranche's coupon senior first (``coupon_bp`` a year on the tranche's
beginning balance); what a month cannot pay is a shortfall, carried forward and due first the
next month, without interest of its own. What interest is left then is released to the residual
holder: the structure takes no credit for excess spread.

Principal collected (scheduled principal, prepayments and recoveries) pays the tranches senior
first, each to zero before the next is paid (sequential). Each month's losses, the defaults less
the recoveries they will bring, then write the tranches down most junior first. The tranches
therefore always add up to the pool's performing balance plus the recoveries still to come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.pools.projection.model import (
    Collateral,
    Projection,
    Structure,
    TrancheFlows,
    TrancheTotals,
)

# coupon_bp / 12 / 10,000 a month
_MONTHLY_BP = 120_000


def _monthly(balance: int, rate_bp: int) -> int:
    """A month's interest on ``balance`` at ``rate_bp`` a year, half-up to the fen."""
    return (2 * balance * rate_bp + _MONTHLY_BP) // (2 * _MONTHLY_BP)


def original_balances(balance: int, structure: Structure) -> list[int]:
    """Each tranche's share of the pool's balance, half-up to the fen; the most junior takes
    what rounding leaves, so that they add up to the balance."""
    seniors = [
        int((t.share * balance).quantize(Decimal(1), ROUND_HALF_UP))
        for t in structure.tranches[:-1]
    ]
    return [*seniors, balance - sum(seniors)]


@dataclass(slots=True)
class _Ledger:
    """The tranches' balances and carried shortfalls as the months go, and what each month
    paid them."""

    balances: list[int]
    coupons: list[int]
    carried: list[int] = field(default_factory=list)
    interest: list[list[int]] = field(default_factory=list)
    principal: list[list[int]] = field(default_factory=list)
    ends: list[list[int]] = field(default_factory=list)
    owed: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.balances)
        self.carried = [0] * count
        for column in (self.interest, self.principal, self.ends, self.owed):
            column.extend([] for _ in range(count))

    def pay_interest(self, cash: int) -> int:
        """Each coupon and its carried shortfall, senior first; returns the cash left."""
        for j, balance in enumerate(self.balances):
            due = _monthly(balance, self.coupons[j]) + self.carried[j]
            paid = min(due, cash)
            self.interest[j].append(paid)
            self.carried[j], cash = due - paid, cash - paid
            self.owed[j].append(self.carried[j])
        return cash

    def pay_principal(self, cash: int) -> int:
        """Senior first, each to zero before the next; returns the cash left."""
        for j, balance in enumerate(self.balances):
            paid = min(cash, balance)
            self.principal[j].append(paid)
            self.balances[j] -= paid
            cash -= paid
        return cash

    def write_down(self, loss: int) -> None:
        """Most junior first; then the month's ending balances are recorded."""
        for j in reversed(range(len(self.balances))):
            down = min(loss, self.balances[j])
            self.balances[j] -= down
            loss -= down
        for j, balance in enumerate(self.balances):
            self.ends[j].append(balance)


def run(flows: Collateral, structure: Structure) -> Projection:
    begins = flows.beginning.tolist()
    interest = flows.interest.tolist()
    principal = (flows.scheduled_principal + flows.prepayments + flows.recoveries).tolist()
    losses = flows.losses.tolist()
    originals = original_balances(int(flows.beginning[0]), structure)
    ledger = _Ledger(balances=list(originals), coupons=[t.coupon_bp for t in structure.tranches])
    fees_carried = 0
    fees: list[int] = []
    released: list[int] = []
    for t in range(flows.months):
        due = _monthly(begins[t], structure.fees_bp) + fees_carried
        paid = min(due, interest[t])
        fees.append(paid)
        fees_carried = due - paid
        excess = ledger.pay_interest(interest[t] - paid)
        # Principal is never left over while the tranches are whole; kept for the record.
        released.append(excess + ledger.pay_principal(principal[t]))
        ledger.write_down(losses[t])
    tranches = tuple(
        TrancheFlows(
            name=t.name,
            original_balance=originals[j],
            interest_paid=ledger.interest[j],
            principal_paid=ledger.principal[j],
            writedown=_writedowns(originals[j], ledger.principal[j], ledger.ends[j]),
            ending_balance=ledger.ends[j],
            shortfall=ledger.owed[j],
        )
        for j, t in enumerate(structure.tranches)
    )
    return Projection(
        collateral=flows,
        fees=fees,
        released=released,
        tranches=tranches,
        totals=tuple(totals(t) for t in tranches),
    )


def _writedowns(original: int, principal: list[int], ends: list[int]) -> list[int]:
    """Each month's write-down: what the balance lost that principal did not pay."""
    out = []
    before = original
    for paid, end in zip(principal, ends, strict=True):
        out.append(before - paid - end)
        before = end
    return out


def totals(flows: TrancheFlows) -> TrancheTotals:
    principal = sum(flows.principal_paid)
    weighted = sum(t * p for t, p in enumerate(flows.principal_paid, start=1))
    paying = [t for t, p in enumerate(flows.principal_paid, start=1) if p > 0]
    wal = (
        (Decimal(weighted) / Decimal(12 * principal)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        if principal
        else None
    )
    return TrancheTotals(
        name=flows.name,
        original_balance=flows.original_balance,
        principal_paid=principal,
        interest_paid=sum(flows.interest_paid),
        loss=sum(flows.writedown),
        interest_shortfall=flows.shortfall[-1] if flows.shortfall else 0,
        wal_years=wal,
        first_payment_period=paying[0] if paying else None,
        last_payment_period=paying[-1] if paying else None,
    )


def senior_writedown(flows: Collateral, structure: Structure) -> int:
    """The senior tranche's principal written down over the projection, in fen."""
    return sum(run(flows, structure).tranches[0].writedown)
