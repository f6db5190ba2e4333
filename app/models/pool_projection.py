from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk
from app.models.pool import POOL_STATES


class PoolProjection(Base):
    """A pool's projected cash flows under one scenario and structure (SPEC 3.9a), kept as
    computed: the inputs it was given, the pool's facts it was run on, and its answer (the
    monthly rows and the tranches' totals) so that it reads back exactly as first returned."""

    __tablename__ = "pool_projections"
    __table_args__ = (
        CheckConstraint(
            "pool_state IN (" + ", ".join(f"'{s}'" for s in POOL_STATES) + ")",
            name="pool_state",
        ),
        CheckConstraint("cut_off_balance > 0 AND loan_count > 0", name="pool_facts"),
        CheckConstraint(
            "breakeven_cdr IS NULL OR (breakeven AND breakeven_cdr > 0 AND breakeven_cdr <= 1)",
            name="breakeven_cdr",
        ),
        Index("ix_pool_projections_pool_id_id", "pool_id", "id"),
    )

    id: Mapped[uuid_pk]
    pool_id: Mapped[UUID] = mapped_column(ForeignKey("pools.id"))
    # The pool as it was projected: its state, cut-off, member count and balance.
    pool_state: Mapped[str] = mapped_column(Text)
    cut_off_date: Mapped[date] = mapped_column(Date)
    loan_count: Mapped[int] = mapped_column(Integer)
    cut_off_balance: Mapped[Decimal]
    # {cpr, cdr, recovery_rate, recovery_lag_months}
    scenario: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # {tranches: [{name, share, coupon_bp}], fees_bp}
    structure: Mapped[dict[str, Any]] = mapped_column(JSONB)
    breakeven: Mapped[bool] = mapped_column(Boolean)
    breakeven_cdr: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    # {rows: [...], tranches: [...]}, money as strings of exact fen
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)


class PoolSchedule(Base):
    """What a locked pool's members were scheduled to pay after its cut-off, summed by due date,
    as it stood at the lock (what had been paid by the cut-off taken off, each member's last
    instalment squared with its cut-off balance). A locked pool's facts never change: its
    projections read this, so a posting on a member loan after the lock, which re-amortises
    the loan's own schedule, leaves them as they were."""

    __tablename__ = "pool_schedules"

    pool_id: Mapped[UUID] = mapped_column(ForeignKey("pools.id"), primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, primary_key=True)
    principal: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    interest: Mapped[Decimal] = mapped_column(Numeric(20, 2))
