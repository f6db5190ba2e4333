from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.core.jsonutil import ExponentNumber
from app.core.schemas import IsoDate, Money, PositiveMoney, Ratio, Share, Strict, Timestamp
from app.core.types import Distinct, Integer, Text
from app.models.enterprise import Industry
from app.models.pool import PoolStateLiteral

DEFAULT_MIN_REMAINING_MONTHS = 3


class Criteria(Strict):
    """Filters on top of the default rules (active, 0 days past due at the cut-off, every
    pledge registered, in no other pool, at least 3 months from the cut-off to maturity)."""

    districts: list[Annotated[Text, Field(pattern=r"^[0-9]{6}$")]] | None = Field(
        default=None, min_length=1, max_length=50, description="All districts when omitted."
    )
    industries: Annotated[list[Industry], Distinct] | None = Field(
        default=None, min_length=1, description="All industries when omitted; each is read once."
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
        description="(bound − selected) / bound, rounded up: the most the selection can fall "
        "short of the best one; 0 when it reaches the bound. Above 0 it need not fall short: "
        "the bound is the relaxation's, which no selection may reach.",
        examples=["0.000012"],
    )
    solver: Literal["highs-milp", "greedy"]
    optimal: bool = Field(
        description="Proven: no selection reaches a fen more. False when not proven within the "
        "search's tolerance (CNY 1 in CNY 100,000 of the bound) or time budget."
    )
    fallback: bool = Field(
        description="The greedy fill was kept: the solver found nothing better in its time budget."
    )
    eligible_count: int
    solve_ms: int


class PoolOut(BaseModel):
    id: UUID
    name: str
    state: PoolStateLiteral
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


# --- projections (SPEC 3.9a) ----------------------------------------------------------------


# ASCII digits only: Decimal() alone would read "١" or "１" as 1, "1e-1" as 0.1 and "0_5" as 5.
_RATE_TEXT = re.compile(r"^[0-9]{1,4}(\.[0-9]+)?$")


def _parse_rate(value: object) -> Decimal:
    if isinstance(value, (bool, ExponentNumber)):
        raise ValueError("a rate is a decimal such as 0.05")
    if isinstance(value, (int, Decimal)):
        rate = Decimal(value)
    elif isinstance(value, str) and _RATE_TEXT.fullmatch(value):
        try:
            rate = Decimal(value)
        except ArithmeticError:
            raise ValueError("a rate is a decimal such as 0.05") from None
    else:
        raise ValueError("a rate is a decimal such as 0.05")
    if not rate.is_finite() or not (0 <= rate <= 1):
        raise ValueError("a rate lies within 0–1")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("a rate has at most four decimals")
    return rate.quantize(Decimal("0.0001"))


AnnualRate = Annotated[
    Decimal,
    BeforeValidator(_parse_rate),
    PlainSerializer(lambda d: f"{d:.4f}", return_type=str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number", "minimum": 0, "maximum": 1}],
            "examples": ["0.05"],
            "description": "A decimal within 0–1, at most four places.",
        },
        mode="validation",
    ),
    WithJsonSchema({"type": "string", "examples": ["0.0500"]}, mode="serialization"),
]


class Scenario(Strict):
    cpr: AnnualRate = Field(description="Conditional prepayment rate, a year.")
    cdr: AnnualRate = Field(description="Conditional default rate, a year.")
    recovery_rate: AnnualRate = Field(description="The share of a default recovered.")
    recovery_lag_months: Integer = Field(
        ge=0, le=120, description="Months from a default to its recovery."
    )


class TrancheIn(Strict):
    name: Text = Field(min_length=1, max_length=40)
    share: Share = Field(description="Of the pool's cut-off balance; the shares add to 1.")
    coupon_bp: Integer = Field(ge=0, le=10_000, description="A year, in basis points.")


class Structure(Strict):
    tranches: list[TrancheIn] = Field(
        min_length=1, max_length=10, description="Senior first; principal is paid in this order."
    )
    fees_bp: Integer = Field(
        default=0,
        ge=0,
        le=10_000,
        description="A year on the pool's beginning balance, paid before any coupon.",
    )

    @field_validator("tranches")
    @classmethod
    def _tranches(cls, tranches: list[TrancheIn]) -> list[TrancheIn]:
        total = sum((t.share for t in tranches), Decimal(0))
        if total != 1:
            raise ValueError(f"the tranches' shares add to {total}, not 1")
        names = [t.name for t in tranches]
        if len(set(names)) != len(names):
            raise ValueError("tranche names must differ")
        return tranches


class ProjectionCreate(Strict):
    scenario: Scenario
    structure: Structure
    breakeven: bool = Field(
        default=False,
        strict=True,
        description="Also search the smallest CDR (to 0.0001) at which the senior tranche "
        "loses principal, the rest of the scenario held.",
    )


class TrancheMonth(BaseModel):
    name: str
    interest_paid: Money
    principal_paid: Money
    writedown: Money = Field(description="Principal lost this month.")
    ending_balance: Money
    shortfall: Money = Field(description="Interest due and unpaid, carried to the next month.")


class ProjectionRow(BaseModel):
    period: int
    date: IsoDate
    beginning_balance: Money
    scheduled_principal: Money
    prepayments: Money
    defaults: Money
    recoveries: Money
    interest_collected: Money
    fees: Money
    released: Money = Field(description="Interest left after fees and coupons, released.")
    ending_balance: Money
    tranches: list[TrancheMonth]


class TrancheTotal(BaseModel):
    name: str
    original_balance: Money
    principal_paid: Money
    interest_paid: Money
    loss: Money
    interest_shortfall: Money = Field(description="Interest still owed at the end.")
    wal_years: Ratio | None = Field(
        description="Σ t/12 × principal paid in month t / Σ principal paid; null when none is."
    )
    first_payment_date: IsoDate | None = Field(description="The first month paying principal.")
    last_payment_date: IsoDate | None = Field(description="The last month paying principal.")


class ProjectionOut(BaseModel):
    id: UUID
    pool_id: UUID
    pool_state: PoolStateLiteral = Field(description="The pool's state when projected.")
    cut_off_date: IsoDate
    loan_count: int
    cut_off_balance: Money
    scenario: Scenario
    structure: Structure
    breakeven: bool
    breakeven_cdr: Ratio | None = Field(
        description="With `breakeven`: the smallest CDR at which the senior tranche loses "
        "principal; null when none does (or not asked)."
    )
    rows: list[ProjectionRow]
    tranches: list[TrancheTotal]
    created_at: Timestamp
    version: int


class ProjectionGrid(Strict):
    """Every CPR × CDR pair, the rest of the scenario and the structure held."""

    cpr: list[AnnualRate] = Field(min_length=1, max_length=10)
    cdr: list[AnnualRate] = Field(min_length=1, max_length=10)
    recovery_rate: AnnualRate
    recovery_lag_months: Integer = Field(ge=0, le=120)
    structure: Structure


class GridTranche(BaseModel):
    name: str
    loss: Money
    wal_years: Ratio | None
    interest_shortfall: Money


class GridPoint(BaseModel):
    cpr: AnnualRate
    cdr: AnnualRate
    tranches: list[GridTranche]


class GridOut(BaseModel):
    pool_id: UUID
    cut_off_date: IsoDate
    cut_off_balance: Money
    points: list[GridPoint] = Field(description="CPR-major: each CPR with every CDR in turn.")
