from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, bigint_pk, timestamp


class AuditEvent(Base):
    """Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
        Index("ix_audit_events_entity_type_id", "entity_type", "id"),
    )

    id: Mapped[bigint_pk]
    occurred_at: Mapped[timestamp]
    actor_key_id: Mapped[UUID | None]
    actor_role: Mapped[str] = mapped_column(Text)
    actor_subject: Mapped[str | None] = mapped_column(Text)
    actor_signed_in_as: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)
