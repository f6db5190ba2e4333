from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, timestamp, uuid_pk


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role IN ('bank_system', 'relationship_manager', 'credit_officer', "
            "'district_bureau', 'securitization', 'admin')",
            name="role",
        ),
        CheckConstraint(
            "(role NOT IN ('relationship_manager', 'district_bureau')) OR subject IS NOT NULL",
            name="subject_required",
        ),
    )

    id: Mapped[uuid_pk]
    role: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[timestamp]
    created_by: Mapped[UUID | None]
    revoked_at: Mapped[datetime | None] = mapped_column()
