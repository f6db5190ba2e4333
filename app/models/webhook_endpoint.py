from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


class WebhookEndpoint(Base):
    """Where a bureau or bank system receives events. The secret signs deliveries, so it is
    kept (not hashed); after a rotation the previous one keeps signing until it expires."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("cardinality(event_types) >= 1", name="event_types"),
        CheckConstraint(
            "(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)",
            name="previous_secret",
        ),
        CheckConstraint("enabled OR disabled_reason IS NOT NULL", name="disabled_reason"),
    )

    id: Mapped[uuid_pk]
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"))
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(Boolean)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
