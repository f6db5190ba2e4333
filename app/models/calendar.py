from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Integer, Sequence, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class CalendarDay(Base):
    """One row per date of a published year: working or not, and why."""

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint("kind IN ('workday', 'weekend', 'holiday', 'makeup_workday')", name="kind"),
        CheckConstraint(
            "is_working = (kind IN ('workday', 'makeup_workday'))", name="working_matches_kind"
        ),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(Text)
    holiday_name: Mapped[str | None] = mapped_column(Text)
    holiday_name_zh: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class CalendarYear(Base):
    """A year is published once the State Council's holiday notice for it is loaded."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    published: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text)
    notice: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


# Revisions are drawn from a sequence, which never hands out a number twice even when the change
# that drew it rolls back: an index cached under one revision can then never be mistaken for
# another state of the calendar.
CALENDAR_REVISION_SEQUENCE = Sequence(
    "calendar_revision_seq", data_type=Integer, metadata=Base.metadata
)


class CalendarState(Base):
    """A single row whose revision moves with every calendar change, so that each process's
    in-memory working-day index knows when to reload (and rolls back with the change)."""

    __tablename__ = "calendar_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)
