from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


# Every state of a pool: open → locked → transferred to an SPV.
class PoolState(StrEnum):
    OPEN = "open"
    LOCKED = "locked"
    TRANSFERRED = "transferred"


POOL_STATES = tuple(state.value for state in PoolState)
# The states as the schemas type them: a Literal, which the OpenAPI document spells inline
# (tests/core/test_state_literals.py holds it to the enum).
PoolStateLiteral = Literal["open", "locked", "transferred"]


class Pool(Base):
    """A securitisation pool: its cut-off, target, eligibility criteria and concentration
    limits, and where it stands (open → locked → transferred to an SPV)."""

    __tablename__ = "pools"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in POOL_STATES) + ")", name="state"
        ),
        CheckConstraint("target_balance > 0", name="target_positive"),
        CheckConstraint(
            "max_obligor_share > 0 AND max_obligor_share <= 1 AND max_industry_share > 0 "
            "AND max_industry_share <= 1 AND max_district_share > 0 AND max_district_share <= 1",
            name="shares",
        ),
        CheckConstraint(
            f"(state = '{PoolState.TRANSFERRED}') = "
            "(spv_name IS NOT NULL AND transfer_date IS NOT NULL)",
            name="transfer",
        ),
        CheckConstraint(f"(state = '{PoolState.OPEN}') = (locked_at IS NULL)", name="locked"),
        Index("ix_pools_state_id", "state", "id"),
    )

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    cut_off_date: Mapped[date] = mapped_column(Date)
    target_balance: Mapped[Decimal]
    # {districts, industries, min_balance, max_balance, min_remaining_months}
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    max_obligor_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    max_industry_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    max_district_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    # What the latest automatic selection reached, for the desk's record.
    last_selection: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    spv_name: Mapped[str | None] = mapped_column(Text)
    transfer_date: Mapped[date | None] = mapped_column(Date)
    locked_at: Mapped[datetime | None]
    transferred_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)


class PoolLoan(Base):
    """A loan in a pool, with the facts of it at the pool's cut-off. The loan id is the primary
    key: a loan is in at most one pool, and no race can put it in two. The facts are taken when
    the loan joins and again when the pool locks, after which they are frozen."""

    __tablename__ = "pool_loans"
    __table_args__ = (
        CheckConstraint("cut_off_balance > 0", name="cut_off_balance_positive"),
        CheckConstraint("pledged_value >= 0", name="pledged_value"),
        CheckConstraint("remaining_months >= 0 AND days_past_due >= 0", name="terms"),
        Index("ix_pool_loans_pool_id_loan_id", "pool_id", "loan_id"),
    )

    loan_id: Mapped[UUID] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    pool_id: Mapped[UUID] = mapped_column(ForeignKey("pools.id"))
    enterprise_id: Mapped[UUID] = mapped_column(ForeignKey("enterprises.id"))
    industry: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(Text)
    cut_off_balance: Mapped[Decimal]
    rate_bp: Mapped[int] = mapped_column(Integer)
    remaining_months: Mapped[int] = mapped_column(SmallInteger)
    days_past_due: Mapped[int] = mapped_column(Integer)
    # The sum of up to 50 valuations, each below 10^18: wider than money (migration 0015).
    pledged_value: Mapped[Decimal] = mapped_column(Numeric(22, 2))
    # The tape's pledge cells (``pledge_count``, ``kinds``, ``numbers``, ``registration_nos``,
    # ``valuations``, ``valuation_dates``) as they stood at the lock; null while the pool is
    # open, whose tape reads them as they are.
    pledges_at_lock: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    added_at: Mapped[datetime]
