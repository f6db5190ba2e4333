from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


# Every state of an application; ``app.applications.states`` names its groups.
class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    AWAITING_INFORMATION = "awaiting_information"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    DISBURSED = "disbursed"


APPLICATION_STATES = tuple(state.value for state in ApplicationState)
# The states in which the approval clock runs.
OPEN_STATES = (ApplicationState.SUBMITTED, ApplicationState.UNDER_REVIEW)
# A quote may be taken for an application in these states (pricing checks them too).
QUOTABLE_STATES = (*OPEN_STATES, ApplicationState.AWAITING_INFORMATION)


class Application(Base):
    """A loan application. The current approval clock is mirrored on the row (received_at …
    deadline_at) so that lists can filter by SLA state on indexed columns; every clock,
    current and past, is in ``approval_clocks``."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in APPLICATION_STATES) + ")", name="state"
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months BETWEEN 1 AND 60", name="term_months"),
        CheckConstraint(
            "approved_amount IS NULL OR (approved_amount > 0 AND approved_amount <= amount)",
            name="approved_amount",
        ),
        CheckConstraint("outcome IS NULL OR outcome IN ('approved', 'declined')", name="outcome"),
        Index("ix_applications_state_id", "state", "id"),
        Index("ix_applications_relationship_manager_id_id", "relationship_manager_id", "id"),
        Index("ix_applications_district_code_id", "district_code", "id"),
        Index("ix_applications_industry_id", "industry", "id"),
        Index("ix_applications_received_at", "received_at"),
        Index("ix_applications_enterprise_id", "enterprise_id"),
        Index(
            "ix_applications_open_clock",
            "deadline_at",
            postgresql_where=text("state IN (" + ", ".join(f"'{s}'" for s in OPEN_STATES) + ")"),
        ),
    )

    id: Mapped[uuid_pk]
    reference: Mapped[str] = mapped_column(Text, unique=True)
    enterprise_id: Mapped[UUID] = mapped_column(ForeignKey("enterprises.id"))
    relationship_manager_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal]
    term_months: Mapped[int] = mapped_column(SmallInteger)
    purpose: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    industry: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)
    # The current approval clock (see approval_clocks for the history).
    received_at: Mapped[datetime | None]
    tier_working_days: Mapped[int | None] = mapped_column(SmallInteger)
    deadline_date: Mapped[date | None] = mapped_column(Date)
    deadline_at: Mapped[datetime | None]
    # The decision.
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[UUID | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    approved_amount: Mapped[Decimal | None]
    rate_bp: Mapped[int | None] = mapped_column(Integer)
    quote_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("application_quotes.id", use_alter=True)
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    return_reason: Mapped[str | None] = mapped_column(Text)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class ApplicationAsset(Base):
    """The IP assets an application names (pledges are created from them at submission)."""

    __tablename__ = "application_assets"
    __table_args__ = (Index("ix_application_assets_ip_asset_id", "ip_asset_id"),)

    application_id: Mapped[UUID] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    ip_asset_id: Mapped[UUID] = mapped_column(ForeignKey("ip_assets.id"), primary_key=True)


class ApprovalClock(Base):
    """One approval clock: started at receipt, stopped by a return, a decision or a
    withdrawal. ``deadline_date`` is null while the deadline falls in an unpublished year."""

    __tablename__ = "approval_clocks"
    __table_args__ = (
        CheckConstraint("tier_working_days IN (3, 5, 10)", name="tier"),
        CheckConstraint(
            "stop_reason IS NULL OR stop_reason IN ('returned', 'decided', 'withdrawn')",
            name="stop_reason",
        ),
        CheckConstraint("(stopped_at IS NULL) = (stop_reason IS NULL)", name="stopped"),
        CheckConstraint("(deadline_date IS NULL) = (deadline_at IS NULL)", name="deadline"),
        Index("uq_approval_clocks_application_id_seq", "application_id", "seq", unique=True),
        # The SLA sweep's work list: open clocks not yet reported breached.
        Index(
            "ix_approval_clocks_sweep",
            "deadline_date",
            postgresql_where=text("stopped_at IS NULL AND breached_notified_at IS NULL"),
        ),
        # Clocks waiting for an unpublished year.
        Index(
            "ix_approval_clocks_pending_calendar",
            "received_at",
            postgresql_where=text("deadline_date IS NULL"),
        ),
    )

    id: Mapped[uuid_pk]
    application_id: Mapped[UUID] = mapped_column(ForeignKey("applications.id"))
    seq: Mapped[int] = mapped_column(SmallInteger)
    tier_working_days: Mapped[int] = mapped_column(SmallInteger)
    received_at: Mapped[datetime]
    deadline_date: Mapped[date | None] = mapped_column(Date)
    deadline_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(Text)
    at_risk_notified_at: Mapped[datetime | None]
    breached_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
