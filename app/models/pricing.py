from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


class LprFixing(Base):
    """A Loan Prime Rate fixing: the rate in force on a date is the latest fixing on or
    before it."""

    __tablename__ = "lpr_fixings"
    __table_args__ = (
        CheckConstraint("one_year_bp > 0 AND one_year_bp < 10000", name="one_year_bp"),
        CheckConstraint("five_year_bp > 0 AND five_year_bp < 10000", name="five_year_bp"),
    )

    fixing_date: Mapped[date] = mapped_column(Date, primary_key=True)
    one_year_bp: Mapped[int] = mapped_column(Integer)
    five_year_bp: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)


class ApplicationQuote(Base):
    """A price quoted for an application, kept with the facts it rests on."""

    __tablename__ = "application_quotes"
    __table_args__ = (
        CheckConstraint("discount_bp BETWEEN 0 AND 20", name="discount_cap"),
        CheckConstraint("discount_uncapped_bp >= discount_bp", name="discount_uncapped"),
        Index("ix_application_quotes_application_id_id", "application_id", "id"),
    )

    id: Mapped[uuid_pk]
    application_id: Mapped[UUID] = mapped_column(ForeignKey("applications.id"))
    quote_date: Mapped[date] = mapped_column(Date)
    lpr_date: Mapped[date] = mapped_column(Date)
    lpr_bp: Mapped[int] = mapped_column(Integer)
    spread_bp: Mapped[int] = mapped_column(Integer)
    discount_uncapped_bp: Mapped[int] = mapped_column(Integer)
    discount_bp: Mapped[int] = mapped_column(Integer)
    rate_bp: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal]
    term_months: Mapped[int] = mapped_column(SmallInteger)
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
