from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from app.core.schemas import IsoDate, Money, Share, Strict, Timestamp
from app.core.types import DATE_MAX, Distinct, FreeText, Integer, Text
from app.models.enterprise import Industry
from app.models.subsidy_claim import ClaimOutcomeLiteral, ClaimState, ClaimStateLiteral

ProgramKind = Literal["interest_subsidy", "risk_compensation"]


class ProgramCreate(Strict):
    district_code: Text = Field(pattern=r"^[0-9]{6}$")
    kind: ProgramKind
    name: Text = Field(min_length=1, max_length=200)
    share: Share
    cap_per_loan: Money | None = None
    cap_per_enterprise_year: Money | None = None
    annual_budget: Money
    budget_year: Integer = Field(ge=2000, le=DATE_MAX.year)
    effective_from: IsoDate = Field(description="The first day in force; in the budget year.")
    effective_to: IsoDate | None = Field(
        default=None,
        description="The last day in force, in the budget year; omitted: the year's end. A "
        "programme is in force on the days of this period (claims, the risk-sharing discount "
        "and the subsidies report alike).",
    )
    industries: Annotated[list[Industry], Distinct] | None = Field(
        default=None,
        min_length=1,
        description="Eligible industries; all when omitted; each is read once.",
    )

    @model_validator(mode="after")
    def _period(self) -> ProgramCreate:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self


class ProgramOut(BaseModel):
    id: UUID
    district_code: str
    kind: ProgramKind
    name: str
    share: Share
    cap_per_loan: Money | None
    cap_per_enterprise_year: Money | None
    annual_budget: Money
    budget_year: int
    effective_from: IsoDate
    effective_to: IsoDate | None
    industries: Annotated[list[str], Distinct] | None
    committed: Money = Field(description="Pending, approved and paid claims.")
    remaining: Money = Field(description="What the budget has left for new claims.")
    budget_exhausted_at: Timestamp | None
    created_at: Timestamp
    version: int


class ClaimOut(BaseModel):
    id: UUID
    program_id: UUID
    loan_id: UUID
    enterprise_id: UUID
    district_code: str
    kind: ProgramKind
    repayment_id: UUID | None
    basis_date: IsoDate
    basis_amount: Money = Field(description="The interest paid, or the outstanding principal.")
    computed_amount: Money = Field(description="round_half_up(basis × share), before limits.")
    amount: Money
    limited_by: Literal["cap_per_loan", "cap_per_enterprise_year", "budget"] | None
    state: ClaimStateLiteral
    decided_at: Timestamp | None
    decision_reason: str | None
    paid_on: IsoDate | None
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class ClaimDecision(Strict):
    outcome: ClaimOutcomeLiteral
    reason: FreeText | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _reason(self) -> ClaimDecision:
        if self.outcome == ClaimState.REJECTED.value and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class ClaimPayment(Strict):
    paid_on: IsoDate
