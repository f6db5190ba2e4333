from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


class SubsidyProgram(Base):
    """A district's programme: interest subsidy or risk compensation, with its share, caps and
    annual budget, all data; its effective period lies within its budget year (no
    ``effective_to``: to the year's end). ``committed`` is the sum of the programme's pending,
    approved and paid claims, kept under the programme's row lock so the budget can never be
    exceeded."""

    __tablename__ = "subsidy_programs"
    __table_args__ = (
        CheckConstraint("kind IN ('interest_subsidy', 'risk_compensation')", name="kind"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
        CheckConstraint("annual_budget >= 0", name="annual_budget"),
        CheckConstraint("cap_per_loan IS NULL OR cap_per_loan >= 0", name="cap_per_loan"),
        CheckConstraint(
            "cap_per_enterprise_year IS NULL OR cap_per_enterprise_year >= 0",
            name="cap_per_enterprise_year",
        ),
        CheckConstraint("committed >= 0 AND committed <= annual_budget", name="within_budget"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from", name="effective_period"
        ),
        # The effective period lies within the budget year (``app.subsidies.in_force``).
        CheckConstraint(
            "extract(year FROM effective_from) = budget_year "
            "AND (effective_to IS NULL OR extract(year FROM effective_to) = budget_year)",
            name="in_budget_year",
        ),
        Index("ix_subsidy_programs_district_code_kind", "district_code", "kind"),
    )

    id: Mapped[uuid_pk]
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    cap_per_loan: Mapped[Decimal | None]
    cap_per_enterprise_year: Mapped[Decimal | None]
    annual_budget: Mapped[Decimal]
    budget_year: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    industries: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    committed: Mapped[Decimal]
    budget_exhausted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)
