from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from app.core.schemas import IsoDate, Money, PositiveMoney, Strict, Timestamp
from app.core.types import Integer, Text
from app.identifiers import check_nice_class, normalise_ip_number
from app.models.ip_asset import IP_KINDS

# A Literal of the model's own tuple, so that OpenAPI lists the values; mypy cannot
# evaluate a Literal built from a variable.
IpKind = Literal[IP_KINDS]  # type: ignore[valid-type]


class IpAssetCreate(Strict):
    kind: IpKind
    number: Text = Field(
        min_length=1,
        max_length=64,
        description="Patent application number (`201710601862.3`; a `ZL` prefix, spaces and "
        "an undotted check digit are accepted), trademark registration number (digits), or "
        "software copyright registration number. Answered in canonical form. A patent's "
        "filing year is no later than the current year (Asia/Shanghai).",
        examples=["201710601862.3"],
    )
    title: Text = Field(min_length=1, max_length=300)
    holder_enterprise_id: UUID = Field(
        description="The enterprise that pledges the asset (and, unless licensed, holds it)."
    )
    licensor_name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Cross-border pledges only: the holder abroad (e.g. the Hong Kong parent) "
        "that licenses the asset to a cross-border enterprise.",
    )
    nice_class: Integer | None = Field(
        default=None,
        ge=1,
        le=45,
        validate_default=True,
        description="Trademarks only (and required for them): the Nice class, 1 to 45.",
    )
    protection_expires_on: IsoDate | None = None

    # ``kind`` is declared first, so it is already validated here; when it is not in
    # ``info.data`` it was refused, and that is the error worth reporting.
    @field_validator("number")
    @classmethod
    def _canonical_number(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        return value if kind is None else normalise_ip_number(kind, value)

    @field_validator("nice_class")
    @classmethod
    def _nice_class_for_trademarks(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        return value if kind is None else check_nice_class(kind, value)


class ValuationCreate(Strict):
    value: PositiveMoney
    appraiser: Text = Field(min_length=1, max_length=200)
    method: Text = Field(
        min_length=1, max_length=100, examples=["income approach"], description="Free text."
    )
    valuation_date: IsoDate = Field(description="The appraisal's date; not in the future.")


class CurrentValuation(BaseModel):
    id: UUID
    value: Money
    appraiser: str
    method: str
    valuation_date: IsoDate
    created_at: Timestamp


class ValuationOut(CurrentValuation):
    ip_asset_id: UUID


class IpAssetOut(BaseModel):
    id: UUID
    kind: IpKind
    number: str
    title: str
    holder_enterprise_id: UUID
    licensor_name: str | None
    nice_class: int | None
    protection_expires_on: IsoDate | None
    created_at: Timestamp
    current_valuation: CurrentValuation | None = Field(
        description="The newest valuation (by valuation date, then entry), or null."
    )
    live_pledge_id: UUID | None = Field(
        description="The asset's pledge in state proposed or registered, or null."
    )
