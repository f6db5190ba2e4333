"""The projection's plain data: what goes in (a pool's schedule, a scenario, a structure) and
what comes out (the collateral's monthly flows, each tranche's, and their totals).

Every amount is an integer number of fen; rates are exact decimals. The engine may compute in
float64 in between, and rounds half-up to the fen before anything leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

Fen = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Annual conditional prepayment and default rates, the share of a default recovered and
    how many months after the default the recovery arrives."""

    cpr: Decimal
    cdr: Decimal
    recovery_rate: Decimal
    recovery_lag_months: int

    def __post_init__(self) -> None:
        for name in ("cpr", "cdr", "recovery_rate"):
            value = getattr(self, name)
            if not (Decimal(0) <= value <= Decimal(1)):
                raise ValueError(f"{name} must lie within 0–1")
        if self.recovery_lag_months < 0:
            raise ValueError("recovery_lag_months may not be negative")


@dataclass(frozen=True, slots=True)
class Tranche:
    name: str
    share: Decimal  # of the pool's cut-off balance
    coupon_bp: int  # a year, on the tranche's beginning balance


@dataclass(frozen=True, slots=True)
class Structure:
    """Tranches senior first; ``fees_bp`` a year on the pool's beginning balance, paid first."""

    tranches: tuple[Tranche, ...]
    fees_bp: int

    def __post_init__(self) -> None:
        if not self.tranches:
            raise ValueError("a structure has at least one tranche")
        if sum(t.share for t in self.tranches) != 1:
            raise ValueError("the tranches' shares must add to 1")
        if len({t.name for t in self.tranches}) != len(self.tranches):
            raise ValueError("tranche names must differ")


@dataclass(frozen=True, slots=True)
class PoolSchedule:
    """The pool's loans aggregated: their cut-off balances' sum and, for each month after the
    cut-off (index 0 is month 1), the sum of their scheduled principal and interest. The
    scheduled principal adds up to the balance."""

    balance: int
    principal: Fen
    interest: Fen

    def __post_init__(self) -> None:
        if self.principal.shape != self.interest.shape or self.principal.ndim != 1:
            raise ValueError("principal and interest are one vector each, of equal length")
        if int(self.principal.sum()) != self.balance:
            raise ValueError("the scheduled principal must add up to the cut-off balance")
        if self.balance <= 0:
            raise ValueError("a pool to project holds a balance")
        if (self.principal < 0).any() or (self.interest < 0).any():
            raise ValueError("scheduled amounts may not be negative")

    @property
    def months(self) -> int:
        return int(self.principal.shape[0])


@dataclass(frozen=True, slots=True)
class Collateral:
    """The pool's monthly flows in fen, one entry a month (index 0 is month 1). ``losses`` are
    the defaults of a month less the recoveries they will bring, counted in the month of the
    default; ``recoveries`` arrive ``lag`` months later."""

    beginning: Fen
    scheduled_principal: Fen
    prepayments: Fen
    defaults: Fen
    recoveries: Fen
    interest: Fen
    ending: Fen
    losses: Fen

    @property
    def months(self) -> int:
        return int(self.beginning.shape[0])


@dataclass(frozen=True, slots=True)
class TrancheFlows:
    """One tranche's months, in fen."""

    name: str
    original_balance: int
    interest_paid: list[int]
    principal_paid: list[int]
    writedown: list[int]
    ending_balance: list[int]
    shortfall: list[int]  # interest due and unpaid at the month's end, carried forward


@dataclass(frozen=True, slots=True)
class TrancheTotals:
    name: str
    original_balance: int
    principal_paid: int
    interest_paid: int
    loss: int
    interest_shortfall: int
    wal_years: Decimal | None  # None when no principal is paid
    first_payment_period: int | None  # the first and last months that pay principal
    last_payment_period: int | None


@dataclass(frozen=True, slots=True)
class Projection:
    collateral: Collateral
    fees: list[int]
    released: list[int]  # interest left after fees and coupons, released to the residual holder
    tranches: tuple[TrancheFlows, ...]
    totals: tuple[TrancheTotals, ...]
