from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.core.schemas import IsoDate, Money, PositiveMoney, Strict, Timestamp

FixingBp = Annotated[
    int, Field(strict=True, ge=1, le=9999, description="Basis points (290 = 2.90% a year).")
]
SpreadBp = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=10_000,
        description="Basis points over the LPR; the configured default (100) when omitted.",
    ),
]
ComponentCode = Literal[
    "pledge_coverage", "invention_patent", "priority_industry", "district_risk_sharing"
]


class LprFixingIn(Strict):
    one_year_bp: FixingBp
    five_year_bp: FixingBp


class LprFixingOut(BaseModel):
    fixing_date: IsoDate
    one_year_bp: int
    five_year_bp: int
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class QuoteIn(Strict):
    spread_bp: SpreadBp | None = None
    quote_date: IsoDate | None = Field(
        default=None, description="The date to price on (today when omitted); not in the future."
    )
    amount: PositiveMoney | None = Field(
        default=None,
        description="The amount to price, at most the requested amount (which is the default): "
        "lets an officer price the amount they intend to approve.",
    )


class QuoteComponentOut(BaseModel):
    code: ComponentCode
    bp: int = Field(description="What the component earns; 0 when its condition is not met.")
    facts: dict[str, Any] = Field(description="The figures and assets the component rests on.")


class QuoteOut(BaseModel):
    id: UUID
    application_id: UUID
    quote_date: IsoDate
    amount: Money
    term_months: int
    lpr_bp: int = Field(description="The 1-year LPR in force on the quote date.")
    lpr_date: IsoDate = Field(description="The date of that fixing.")
    spread_bp: int
    components: list[QuoteComponentOut]
    discount_uncapped_bp: int
    discount_bp: int = Field(description="The components' sum, capped at 20 bp.")
    rate_bp: int = Field(description="lpr_bp + spread_bp − discount_bp.")
    created_at: Timestamp
