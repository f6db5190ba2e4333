from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk

PLEDGE_STATES = ("proposed", "registered", "released", "enforced", "cancelled")
LIVE_PLEDGE_STATES = ("proposed", "registered")


class Pledge(Base):
    """One IP asset pledged for one application. The database allows one live pledge
    (proposed or registered) per asset: no race can create two."""

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in PLEDGE_STATES) + ")", name="state"
        ),
        CheckConstraint(
            "state NOT IN ('registered', 'released', 'enforced') OR "
            "(registration_no IS NOT NULL AND registered_on IS NOT NULL) OR state = 'released'",
            name="registration",
        ),
        Index(
            "uq_pledges_live_asset",
            "ip_asset_id",
            unique=True,
            postgresql_where=text("state IN ('proposed', 'registered')"),
        ),
        Index("ix_pledges_application_id", "application_id"),
        Index("ix_pledges_ip_asset_id_id", "ip_asset_id", "id"),
        Index("ix_pledges_state_id", "state", "id"),
    )

    id: Mapped[uuid_pk]
    application_id: Mapped[UUID] = mapped_column(ForeignKey("applications.id"))
    ip_asset_id: Mapped[UUID] = mapped_column(ForeignKey("ip_assets.id"))
    state: Mapped[str] = mapped_column(Text)
    registration_no: Mapped[str | None] = mapped_column(Text)
    registered_on: Mapped[date | None] = mapped_column(Date)
    released_on: Mapped[date | None] = mapped_column(Date)
    enforced_on: Mapped[date | None] = mapped_column(Date)
    state_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
