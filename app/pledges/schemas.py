from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from app.core.schemas import IsoDate, Strict, Timestamp
from app.core.types import FreeText, Text
from app.models.pledge import PledgeStateLiteral


class PledgeOut(BaseModel):
    id: UUID
    application_id: UUID
    ip_asset_id: UUID
    state: PledgeStateLiteral
    registration_no: str | None = Field(description="The CNIPA pledge registration number.")
    registered_on: IsoDate | None
    released_on: IsoDate | None
    enforced_on: IsoDate | None
    state_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class RegistrationBody(Strict):
    registration_no: Text = Field(min_length=1, max_length=64, examples=["Y2026440000123"])
    registered_on: IsoDate


class ReleaseBody(Strict):
    reason: FreeText = Field(min_length=1, max_length=2000)
