from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from app.core.schemas import IsoDate, Money, PositiveMoney, Ratio, Share, Strict, Timestamp
from app.core.types import Integer, Text
from app.models.enterprise import INDUSTRIES

PoolState = Literal["open", "locked", "transferred"]
Industry = Literal[INDUSTRIES]  # type: ignore[valid-type]
DEFAULT_MIN_REMAINING_MONTHS = 3


class Criteria(Strict):
    """Filters on top of the default rules (active, 0 days past due at the cut-off, every
    pledge registered, in no other pool, at least 3 months from the cut-off to maturity)."""

    districts: list[Annotated[Text, Field(pattern=r"^[0-9]{6}$")]] | None = Field(
        default=None, min_length=1, max_length=50, description="All districts when omitted."
    )
    industries: list[Industry] | None = Field(
        default=None, min_length=1, description="All industries when omitted."
    )
    min_balance: Money | None = Field(default=None, description="Cut-off balance at least this.")
    max_balance: Money | None = Field(default=None, description="Cut-off balance at most this.")
    min_remaining_months: Integer = Field(
        default=DEFAULT_MIN_REMAINING_MONTHS,
        ge=1,
        le=360,
        description="Calendar months from the cut-off date to the loan's maturity, at least: "
        "a loan is eligible when its maturity date is on or after the cut-off plus this many "
        "months (a day past the month's end is its last day).",
    )

    @model_validator(mode="after")
    def _balances(self) -> Criteria:
        if (
            self.min_balance is not None
            and self.max_balance is not None
            and self.max_balance < self.min_balance
        ):
            raise ValueError("max_balance is below min_balance")
        return self


class Limits(Strict):
    """Concentration limits, as shares of the pool's outstanding principal (of its target
    while the pool is open)."""

    max_obligor_share: Share = Decimal("0.10")
    max_industry_share: Share = Decimal("0.40")
    max_district_share: Share = Decimal("1.00")


class PoolCreate(Strict):
    name: Text = Field(min_length=1, max_length=200)
    cut_off_date: IsoDate = Field(
        description="Today or earlier: the facts of a tape are known ones."
    )
    target_balance: PositiveMoney
    criteria: Criteria = Field(default_factory=Criteria)
    limits: Limits = Field(default_factory=Limits)


class PoolLoanAdd(Strict):
    loan_id: UUID


class PoolTransfer(Strict):
    spv_name: Text = Field(min_length=1, max_length=200)
    transfer_date: IsoDate = Field(description="Not before the cut-off date, not in the future.")


class PoolStats(BaseModel):
    loan_count: int
    obligor_count: int
    outstanding_principal: Money = Field(description="The loans' balances at the cut-off.")
    wa_rate_bp: Ratio | None = Field(description="Balance-weighted rate, in basis points.")
    wa_remaining_months: Ratio | None = Field(description="Balance-weighted instalments left.")
    wa_coverage: Ratio | None = Field(
        description="Balance-weighted pledge coverage: Σ pledged valuations / Σ balances."
    )
    max_obligor_share: Ratio | None = Field(description="The largest obligor's share.")
    industry_shares: dict[str, Ratio]
    district_shares: dict[str, Ratio]


class SelectionSummary(BaseModel):
    """What an automatic selection reached."""

    selected_count: int
    selected_balance: Money
    bound_balance: Money = Field(
        description="No selection can reach more (the linear relaxation's optimum)."
    )
    gap: str = Field(
        description="(bound − selected) / bound, rounded up; 0 when nothing better exists.",
        examples=["0.000012"],
    )
    solver: Literal["highs-milp", "greedy"]
    optimal: bool = Field(description="Proven: no selection reaches a fen more.")
    fallback: bool = Field(
        description="The greedy fill was kept: the solver found nothing better in its time budget."
    )
    eligible_count: int
    solve_ms: int


class PoolOut(BaseModel):
    id: UUID
    name: str
    state: PoolState
    cut_off_date: IsoDate
    target_balance: Money
    criteria: Criteria
    limits: Limits
    stats: PoolStats
    spv_name: str | None
    transfer_date: IsoDate | None
    locked_at: Timestamp | None
    transferred_at: Timestamp | None
    last_selection: SelectionSummary | None = Field(
        description="What the latest automatic selection reached; null before the first."
    )
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class SelectionOut(SelectionSummary):
    pool: PoolOut
