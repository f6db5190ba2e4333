from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


# Every status of a delivery: pending (to be sent, or retried) → delivered | failed. The API
# types a delivery's and an event's status with it (no docstring: the OpenAPI document would
# carry it as the schema's description).
class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


DELIVERY_STATUSES = tuple(status.value for status in DeliveryStatus)


class WebhookDelivery(Base):
    """One event for one endpoint: its status, its retry clock and the lease of the worker
    sending it (a killed worker's lease runs out and another worker takes the delivery)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in DELIVERY_STATUSES) + ")", name="status"
        ),
        CheckConstraint(
            f"status <> '{DeliveryStatus.PENDING}' OR next_attempt_at IS NOT NULL", name="due"
        ),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The relay's claim: due pending deliveries, oldest due first.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text(f"status = '{DeliveryStatus.PENDING}'"),
        ),
        # Failed events for the admins' list, and the oldest pending event for /metrics.
        Index(
            "ix_webhook_deliveries_open",
            "status",
            "event_id",
            postgresql_where=text(f"status <> '{DeliveryStatus.DELIVERED}'"),
        ),
    )

    event_id: Mapped[UUID] = mapped_column(ForeignKey("outbox_events.id"), primary_key=True)
    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoints.id"), primary_key=True)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
    lease_id: Mapped[UUID | None]
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
