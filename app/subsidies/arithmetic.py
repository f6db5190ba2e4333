"""Subsidy arithmetic, as plain functions: the claim a basis earns under a programme's share,
reduced to what its caps and budget leave."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Room:
    """What is left under each limit (None: the programme has no such cap)."""

    cap_per_loan: Decimal | None
    cap_per_enterprise_year: Decimal | None
    budget: Decimal


@dataclass(frozen=True)
class ClaimAmount:
    computed: Decimal
    amount: Decimal
    limited_by: str | None


def claim_amount(basis: Decimal, share: Decimal, room: Room) -> ClaimAmount:
    """``round_half_up(basis × share)``, reduced to the tightest remaining limit. When limits tie,
    the per-loan cap is named before the per-enterprise cap, and both before the budget."""
    computed = round_half_up(basis * share)
    amount, limited_by = computed, None
    for name, left in (
        ("cap_per_loan", room.cap_per_loan),
        ("cap_per_enterprise_year", room.cap_per_enterprise_year),
        ("budget", room.budget),
    ):
        if left is None:
            continue
        left = max(left, Decimal("0.00"))
        if left < amount:
            amount, limited_by = left, name
    return ClaimAmount(computed=computed, amount=amount, limited_by=limited_by)
