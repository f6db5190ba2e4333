"""The reports' answers: counts as integers, money as two-decimal strings, ratios and medians
as exact decimal strings (never floats)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.core.schemas import IsoDate, MoneyTotal, Ratio, Timestamp
from app.subsidies.schemas import ProgramKind

WorkingDays = Annotated[
    Decimal,
    PlainSerializer(lambda d: f"{d:.1f}", return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d+\.[05]$", "examples": ["2.5"]}, mode="serialization"
    ),
]
"""A median of whole working days: a whole number, or a half between two."""


class Period(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: dt.date = Field(alias="from", description="First date of the period (inclusive).")
    to: dt.date = Field(description="Last date of the period (inclusive).")


class SlaFigures(BaseModel):
    tier_working_days: int | None = Field(description="3, 5 or 10; null for all tiers together.")
    received: int = Field(description="Clocks received in the period: the sum of the states.")
    decided: int = Field(description="Decisions with a verdict: `met` + `missed`.")
    met: int
    missed: int
    open: int = Field(description="Clocks still running: `running` + `at_risk` + `breached`.")
    running: int
    at_risk: int
    breached: int = Field(description="Open past the deadline, as of `as_of`.")
    paused: int = Field(description="Returned for information, not yet resubmitted.")
    withdrawn: int = Field(description="Withdrawn before a decision.")
    pending_calendar: int = Field(
        description="Deadline in a year whose holiday notice is not loaded yet (decided or not)."
    )
    compliance_rate: Ratio | None = Field(
        description="`met` / `decided`, half-up to four decimals; null when nothing was decided."
    )
    median_working_days_to_decision: WorkingDays | None = Field(
        description="Working days from the receipt date to the decision date (the first day "
        "not counted), over the decisions; null when there are none."
    )


class SlaReport(Period):
    as_of: Timestamp = Field(description="The moment the open clocks' states are true at.")
    relationship_manager_id: str | None = Field(
        description="Set when the figures cover one relationship manager's applications only."
    )
    tiers: list[SlaFigures] = Field(description="The 3, 5 and 10 working-day tiers, in order.")
    overall: SlaFigures


class CampaignFigures(BaseModel):
    enterprises_served: int = Field(description="Enterprises with an application received.")
    enterprises_financed: int = Field(description="Enterprises with an approval.")
    applications: int = Field(description="Applications received in the period.")
    approvals: int = Field(description="Of those, approved (and not withdrawn since).")
    approved_amount: MoneyTotal
    ip_pledges: int = Field(
        description="Pledges of the approvals registered with CNIPA (still live or not)."
    )
    secured_amount: MoneyTotal = Field(
        description="Approved amount of the approvals secured by at least one registered pledge."
    )


class CampaignIndustry(CampaignFigures):
    industry: str


class CampaignDistrict(CampaignFigures):
    district_code: str
    district_name: str


class CampaignReport(Period):
    relationship_manager_id: str | None = Field(
        description="Set when the figures cover one relationship manager's applications only."
    )
    by_industry: list[CampaignIndustry] = Field(description="Every industry, zeros included.")
    by_district: list[CampaignDistrict] = Field(description="Every district, zeros included.")
    total: CampaignFigures


class SubsidyFigures(BaseModel):
    budget: MoneyTotal
    claims: int = Field(description="Claims whose basis date lies in the period.")
    claimed: MoneyTotal = Field(description="All those claims, rejected ones included.")
    pending: MoneyTotal
    approved: MoneyTotal = Field(description="Approved, paid or not yet.")
    rejected: MoneyTotal
    paid: MoneyTotal
    remaining: MoneyTotal = Field(
        description="What the budget has left for new claims now, whatever the period."
    )


class SubsidyProgramFigures(SubsidyFigures):
    program_id: UUID
    district_code: str
    kind: ProgramKind
    name: str
    budget_year: int


class SubsidyReport(Period):
    district_code: str | None = Field(
        description="Set when the figures cover one district's programmes only."
    )
    programs: list[SubsidyProgramFigures] = Field(
        description="Programmes in force during the period, by district, budget year and name."
    )
    total: SubsidyFigures


ClassificationName = Literal["normal", "special_mention", "substandard", "doubtful", "loss"]


class PortfolioClass(BaseModel):
    classification: ClassificationName | None = Field(description="Null on the total.")
    loan_count: int
    outstanding_principal: MoneyTotal


class PortfolioReport(BaseModel):
    as_of: IsoDate
    classes: list[PortfolioClass] = Field(description="Every class, normal to loss.")
    total: PortfolioClass
    npl_ratio: str = Field(
        description="Substandard + doubtful + loss balances ÷ all balances, half-up to four "
        'decimals; "0.0000" with no loans.',
        pattern=r"^\d\.\d{4}$",
    )
