from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, timestamp, uuid_pk


class OutboxEvent(Base):
    """A domain event, written in the transaction of the change it reports. The webhook relay
    fans it out to the endpoints that want it and stamps ``dispatched_at``."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # Only the events still to fan out: small however long the table grows.
        Index(
            "ix_outbox_events_undispatched", "id", postgresql_where=text("dispatched_at IS NULL")
        ),
    )

    id: Mapped[uuid_pk]
    type: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[timestamp]
    district_code: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dispatched_at: Mapped[datetime | None] = mapped_column()
