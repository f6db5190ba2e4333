from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from app.core.schemas import Strict, Timestamp
from app.core.types import Text
from app.identifiers import normalise_credit_code
from app.models.enterprise import Industry

CreditCode = Annotated[
    Text,
    Field(
        max_length=64,
        description="Unified social credit code (GB 32100-2015): 18 characters with its check "
        "character; surrounding spaces and lower case are accepted and normalised.",
        examples=["9144030071526726XG"],
    ),
    AfterValidator(normalise_credit_code),
]

DistrictCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6}$",
        description="GB/T 2260 code of a Shenzhen district, e.g. 440307 (Longgang).",
        examples=["440307"],
    ),
]


class EnterpriseCreate(Strict):
    name: Text = Field(min_length=1, max_length=200)
    credit_code: CreditCode
    district_code: DistrictCode
    industry: Industry
    high_tech: StrictBool = Field(description="A certified national high-tech enterprise.")
    cross_border: StrictBool = Field(
        description="Pledges IP it uses under licence from a holder abroad (e.g. its Hong Kong "
        "parent)."
    )


class EnterpriseOut(BaseModel):
    id: UUID
    name: str
    credit_code: str
    district_code: str
    industry: Industry
    high_tech: bool
    cross_border: bool
    created_at: Timestamp
