from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk

INDUSTRIES = (
    "artificial_intelligence",
    "low_altitude_economy",
    "intelligent_driving",
    "electronic_information",
    "biomedicine",
    "low_carbon",
    "other",
)
PRIORITY_INDUSTRIES = frozenset(INDUSTRIES) - {"other"}
"""The six Longgang priority clusters (SPEC 3.1): every industry but ``other``."""
INDUSTRY_CHECK = "industry IN (" + ", ".join(f"'{i}'" for i in INDUSTRIES) + ")"
# The industries as a type, for the schemas and query parameters that take one, so that OpenAPI
# lists the values; mypy cannot evaluate a Literal built at run time.
Industry = Literal[INDUSTRIES]  # type: ignore[valid-type]


class Enterprise(Base):
    __tablename__ = "enterprises"
    __table_args__ = (CheckConstraint(INDUSTRY_CHECK, name="industry"),)

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(Text)
    credit_code: Mapped[str] = mapped_column(Text, unique=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    industry: Mapped[str] = mapped_column(Text)
    high_tech: Mapped[bool] = mapped_column(Boolean)
    cross_border: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
