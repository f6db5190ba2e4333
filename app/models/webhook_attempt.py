from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, Index, Integer, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, bigint_pk


class WebhookAttempt(Base):
    """Every attempt to deliver an event to an endpoint, whatever came of it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["event_id", "endpoint_id"],
            ["webhook_deliveries.event_id", "webhook_deliveries.endpoint_id"],
        ),
        Index("ix_webhook_attempts_endpoint_id_id", "endpoint_id", "id"),
        # Retention deletes attempts by event, and deleting a delivery checks its attempts.
        Index("ix_webhook_attempts_event_id_endpoint_id", "event_id", "endpoint_id"),
    )

    id: Mapped[bigint_pk]
    event_id: Mapped[UUID]
    endpoint_id: Mapped[UUID]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
