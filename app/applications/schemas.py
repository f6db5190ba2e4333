from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from app.applications.sla import SlaState
from app.applications.states import ApplicationState
from app.core.schemas import (
    AwareDatetime,
    IsoDate,
    LoanAmount,
    Money,
    PositiveMoney,
    Strict,
    Timestamp,
)
from app.core.types import FreeText, Integer, Text
from app.models.pledge import PledgeStateLiteral
from app.pricing.schemas import QuoteOut

__all__ = ["ApplicationState"]

Reason = Field(min_length=1, max_length=2000)


class ApplicationCreate(Strict):
    enterprise_id: UUID
    amount: LoanAmount
    term_months: Integer = Field(ge=1, le=60)
    purpose: FreeText = Field(min_length=1, max_length=2000)
    ip_asset_ids: list[UUID] = Field(min_length=1, max_length=50)
    relationship_manager_id: Text | None = Field(
        default=None,
        max_length=64,
        description="Bank systems name the relationship manager; a relationship manager's own "
        "key always creates for itself.",
    )


class SubmitBody(Strict):
    received_at: AwareDatetime | None = Field(
        default=None,
        description="When the (complete) application arrived, if earlier than now: at most "
        "IPLEDGE_MAX_BACKDATE_DAYS (30) days ago, never in the future. Defaults to now.",
    )


class ReasonBody(Strict):
    reason: FreeText = Reason


class DecisionBody(Strict):
    outcome: Literal["approved", "declined"]
    approved_amount: PositiveMoney | None = Field(
        default=None, description="Up to the requested amount; defaults to it when approving."
    )
    quote_id: UUID | None = Field(
        default=None, description="Lock this quote's rate; without it a fresh quote is taken."
    )
    spread_bp: Integer | None = Field(default=None, ge=0, le=10_000)
    reason: FreeText | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _outcome_fields(self) -> DecisionBody:
        if self.outcome == "declined":
            if not self.reason:
                raise ValueError("a decline needs a reason")
            if self.approved_amount is not None or self.quote_id is not None:
                raise ValueError("a decline takes no approved_amount or quote_id")
            if self.spread_bp is not None:
                raise ValueError("a decline takes no spread_bp")
        elif self.quote_id is not None and self.spread_bp is not None:
            raise ValueError("name a quote_id or a spread_bp, not both")
        return self


class SlaOut(BaseModel):
    tier_working_days: int
    received_at: Timestamp
    deadline_date: IsoDate | None = Field(
        description="Null while the deadline falls in an unpublished year."
    )
    deadline_at: Timestamp | None
    state: SlaState


class ClockOut(BaseModel):
    seq: int
    tier_working_days: int
    received_at: Timestamp
    deadline_date: IsoDate | None
    deadline_at: Timestamp | None
    stopped_at: Timestamp | None
    stop_reason: Literal["returned", "decided", "withdrawn"] | None
    state: SlaState


class PledgeSummary(BaseModel):
    id: UUID
    ip_asset_id: UUID
    state: PledgeStateLiteral
    registration_no: str | None
    registered_on: IsoDate | None
    version: int


class ApplicationOut(BaseModel):
    id: UUID
    reference: str = Field(examples=["ZCR-2026-000123"])
    state: ApplicationState
    enterprise_id: UUID
    relationship_manager_id: str
    amount: Money
    term_months: int
    purpose: str
    ip_asset_ids: list[UUID]
    district_code: str
    industry: str
    sla: SlaOut | None = Field(description="The current approval clock; null for drafts.")
    clocks: list[ClockOut]
    pledges: list[PledgeSummary]
    decided_at: Timestamp | None
    approved_amount: Money | None
    rate_bp: int | None = Field(description="The locked annual rate of an approved application.")
    quote: QuoteOut | None = Field(description="The quote whose rate the approval locked.")
    decision_reason: str | None
    return_reason: str | None
    withdraw_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    version: int
