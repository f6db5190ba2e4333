from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk

IP_KINDS = ("invention_patent", "utility_model", "design_patent", "trademark", "software_copyright")


class IpAsset(Base):
    """A pledgeable IP right, registered once (unique by kind and normalised number)."""

    __tablename__ = "ip_assets"
    __table_args__ = (
        UniqueConstraint("kind", "number", name="uq_ip_assets_kind_number"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in IP_KINDS) + ")", name="kind"),
        CheckConstraint(
            "(kind = 'trademark') = (nice_class IS NOT NULL)", name="nice_class_for_trademarks"
        ),
        CheckConstraint("nice_class IS NULL OR nice_class BETWEEN 1 AND 45", name="nice_class"),
        Index("ix_ip_assets_holder_enterprise_id", "holder_enterprise_id"),
    )

    id: Mapped[uuid_pk]
    kind: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    holder_enterprise_id: Mapped[UUID] = mapped_column(ForeignKey("enterprises.id"))
    licensor_name: Mapped[str | None] = mapped_column(Text)
    nice_class: Mapped[int | None] = mapped_column(SmallInteger)
    protection_expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]


class IpAssetValuation(Base):
    """An appraisal; the newest (by valuation date, then creation) is the asset's current one."""

    __tablename__ = "ip_asset_valuations"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        Index("ix_ip_asset_valuations_current", "ip_asset_id", "valuation_date", "id"),
    )

    id: Mapped[uuid_pk]
    ip_asset_id: Mapped[UUID] = mapped_column(ForeignKey("ip_assets.id"))
    value: Mapped[Decimal]
    appraiser: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    valuation_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
