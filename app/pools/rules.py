"""Which loans a pool may hold (SPEC 3.9), as plain functions over the facts of each loan at
the pool's cut-off date; the repository gathers the facts, these decide.

A loan is eligible when it is active, was disbursed on or before the cut-off, is 0 days past
due at the cut-off, every pledge is registered (and it has at least one), it matures at least
``min_remaining_months`` calendar months after the cut-off (the month's last day when the
cut-off's day is past it, as PostgreSQL's month arithmetic does), it is in no other pool, and it
passes the pool's own filters (districts, industries, cut-off balance). The instalments falling
due after the cut-off (``remaining_months``) are the remaining-term statistic, not a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.loans.schedule import due_date as add_months
from app.models.loan import LoanState
from app.pools.selection import Candidate, Limits


@dataclass(frozen=True, slots=True)
class LoanFacts:
    loan_id: UUID
    enterprise_id: UUID
    industry: str
    district_code: str
    state: str
    disbursed_on: date
    maturity_date: date
    in_pool: UUID | None
    cut_off_balance: Decimal
    rate_bp: int
    remaining_months: int
    days_past_due: int
    registered: int
    unregistered: int
    pledged_value: Decimal

    @classmethod
    def from_row(cls, row: Any) -> LoanFacts:
        return cls(**{name: row[name] for name in cls.__slots__})

    def candidate(self) -> Candidate:
        return Candidate(
            loan_id=str(self.loan_id),
            balance=self.cut_off_balance,
            obligor=str(self.enterprise_id),
            industry=self.industry,
            district=self.district_code,
        )


def ineligibility(
    facts: LoanFacts, *, pool_id: UUID, cut_off: date, criteria: dict[str, Any]
) -> list[str]:
    """Why the loan may not be in the pool; empty when it may."""
    reasons = []
    if facts.in_pool is not None and facts.in_pool != pool_id:
        reasons.append(f"it is in pool {facts.in_pool}")
    if facts.state != LoanState.ACTIVE:
        reasons.append(f"it is {facts.state}, not active")
    if facts.disbursed_on > cut_off:
        reasons.append(f"it was disbursed after the cut-off ({facts.disbursed_on})")
    elif facts.cut_off_balance <= 0:
        reasons.append("it had nothing outstanding at the cut-off")
    if facts.days_past_due > 0:
        reasons.append(f"it was {facts.days_past_due} days past due at the cut-off")
    if facts.unregistered or not facts.registered:
        reasons.append("not every pledge is registered")
    minimum = criteria["min_remaining_months"]
    if facts.maturity_date < add_months(cut_off, minimum):
        months = f"{minimum} month" + ("" if minimum == 1 else "s")
        reasons.append(
            f"its maturity {facts.maturity_date} is less than {months} after the cut-off"
        )
    if criteria.get("districts") and facts.district_code not in criteria["districts"]:
        reasons.append(f"district {facts.district_code} is not one of the pool's")
    if criteria.get("industries") and facts.industry not in criteria["industries"]:
        reasons.append(f"industry {facts.industry} is not one of the pool's")
    low, high = criteria.get("min_balance"), criteria.get("max_balance")
    if low is not None and facts.cut_off_balance < Decimal(low):
        reasons.append(f"its cut-off balance {facts.cut_off_balance} is below {low}")
    if high is not None and facts.cut_off_balance > Decimal(high):
        reasons.append(f"its cut-off balance {facts.cut_off_balance} is above {high}")
    return reasons


@dataclass(frozen=True, slots=True)
class Holdings:
    """What an open pool already holds: in all, and in the groups of a loan to be added."""

    total: Decimal
    obligor: Decimal
    industry: Decimal
    district: Decimal


def addition_breaches(facts: LoanFacts, held: Holdings, limits: Limits) -> list[str]:
    """The limits adding the loan would break while the pool is open: the target itself, and
    each share measured against the target (so that a pool can be built loan by loan)."""
    b = facts.cut_off_balance
    target = limits.target
    broken = []
    if held.total + b > target:
        broken.append(f"the pool would hold {held.total + b}, more than its target {target}")
    for what, key, held_sum, share in (
        ("obligor", facts.enterprise_id, held.obligor, limits.max_obligor_share),
        ("industry", facts.industry, held.industry, limits.max_industry_share),
        ("district", facts.district_code, held.district, limits.max_district_share),
    ):
        if held_sum + b > share * target:
            broken.append(
                f"{what} {key} would hold {held_sum + b}, more than {share} of the target {target}"
            )
    return broken
