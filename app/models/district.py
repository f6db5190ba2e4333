from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base


class District(Base):
    """GB/T 2260 district codes: data, so a new district is a row, not a release."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(Text)
