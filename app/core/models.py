"""The declarative base: named constraints (so migrations can refer to them) and the column
shapes every table shares."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, Text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it from the class
        datetime: DateTime(timezone=True),
        Decimal: Numeric(20, 2),
        str: Text(),
        UUID: PG_UUID(as_uuid=True),
    }


uuid_pk = Annotated[UUID, mapped_column(PG_UUID(as_uuid=True), primary_key=True)]
bigint_pk = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
money = Annotated[Decimal, mapped_column(Numeric(20, 2))]
timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]
text = Annotated[str, mapped_column(Text)]
