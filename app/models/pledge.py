from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


# Every state of a pledge (``app.pledges.service`` describes the moves between them).
class PledgeState(StrEnum):
    PROPOSED = "proposed"
    REGISTERED = "registered"
    RELEASED = "released"
    ENFORCED = "enforced"
    CANCELLED = "cancelled"


PLEDGE_STATES = tuple(state.value for state in PledgeState)
# The states as the schemas type them: a Literal, which the OpenAPI document spells inline
# (tests/core/test_state_literals.py holds it to the enum).
PledgeStateLiteral = Literal["proposed", "registered", "released", "enforced", "cancelled"]
# A live pledge holds its asset: the database allows one per asset.
LIVE_PLEDGE_STATES = (PledgeState.PROPOSED.value, PledgeState.REGISTERED.value)


class Pledge(Base):
    """One IP asset pledged for one application. The database allows one live pledge
    (proposed or registered) per asset: no race can create two."""

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in PLEDGE_STATES) + ")", name="state"
        ),
        CheckConstraint(
            f"state NOT IN ('{PledgeState.REGISTERED}', '{PledgeState.RELEASED}', "
            f"'{PledgeState.ENFORCED}') OR "
            "(registration_no IS NOT NULL AND registered_on IS NOT NULL) OR "
            f"state = '{PledgeState.RELEASED}'",
            name="registration",
        ),
        Index(
            "uq_pledges_live_asset",
            "ip_asset_id",
            unique=True,
            postgresql_where=text(
                "state IN (" + ", ".join(f"'{s}'" for s in LIVE_PLEDGE_STATES) + ")"
            ),
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
