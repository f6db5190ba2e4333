from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class SchemaCompatibility(Base):
    """For each schema revision a database has been migrated to: the oldest code revision that
    still works on it (written by the migration environment, read by ``/readyz``). Code that
    does not know a newer revision reads here whether it may serve that schema."""

    __tablename__ = "schema_compatibility"

    revision: Mapped[str] = mapped_column(Text, primary_key=True)
    oldest_compatible_revision: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
