"""Shared API types: money, rates, timestamps, pages and cursors. (Dates, text and integers
as callers send them are in ``app.core.types``; ``IsoDate`` and ``AwareDatetime`` are
re-exported here.)"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from app.core.jsonutil import ExponentNumber
from app.core.types import ASCII_DIGITS, SHANGHAI
from app.core.types import AwareDatetime as AwareDatetime
from app.core.types import IsoDate as IsoDate

FEN = Decimal("0.01")
MONEY_MAX = Decimal("1000000000000000000")  # Numeric(20, 2) holds 18 digits before the point
_MONEY_TEXT = re.compile(r"^[0-9]{1,18}(\.[0-9]{1,2})?$")  # ASCII digits only


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # A body is validated from attributes too, so a bare number (parsed as a Decimal) would
        # pass as an object with no fields: only a JSON object is a body.
        if isinstance(value, dict | cls):
            return value
        raise ValueError("the body must be a JSON object")


def parse_money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError('money is a string such as "1000.00" or a number')
    if isinstance(value, ExponentNumber):
        raise ValueError("money may not use an exponent; write 100000.00, not 1e5")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        if not _MONEY_TEXT.fullmatch(value):
            raise ValueError(
                'money is a non-negative amount with at most two decimals, such as "1000.00"'
            )
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the pattern already refuses these
            raise ValueError("not a decimal amount") from exc
    else:
        raise ValueError('money is a string such as "1000.00" or a number')
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    if amount.is_signed() and amount != 0:
        raise ValueError("money may not be negative")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("money has at most two decimals (fen)")
    if amount >= MONEY_MAX:
        raise ValueError("amount too large")
    return abs(amount).quantize(FEN)


def format_money(value: Decimal) -> str:
    return f"{value:.2f}"


_MONEY_SCHEMA_OUT = {
    "type": "string",
    "pattern": r"^\d+\.\d{2}$",
    "examples": ["10000000.00"],
    "description": "CNY with exactly two decimals.",
}
_MONEY_SCHEMA_IN = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,2})?$"},
        {"type": "number", "minimum": 0},
    ],
    "examples": ["10000000.00"],
    "description": "CNY: a string, or a JSON number with at most two decimals; no exponent.",
}

Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema(_MONEY_SCHEMA_IN, mode="validation"),
    WithJsonSchema(_MONEY_SCHEMA_OUT, mode="serialization"),
]

MoneyTotal = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema(_MONEY_SCHEMA_IN, mode="validation"),
    WithJsonSchema(_MONEY_SCHEMA_OUT, mode="serialization"),
]
"""A sum of stored amounts, only ever answered: written as ``Money`` is, but not held to the
ceiling of one amount (a report's total over several budgets at that ceiling passes it)."""


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be more than 0.00")
    return value


PositiveMoney = Annotated[Money, AfterValidator(_positive)]

# The most a loan may be for: CNY 1 trillion. Far above any IP-pledged loan, and low enough that
# every figure the servicing engine keeps of a loan fits 64 bits: its amounts in fen (10^14) and
# its penalty base in fen-days over any span of stored dates (about 4 x 10^18).
LOAN_AMOUNT_MAX = Decimal("1000000000000.00")


def _loan_sized(value: Decimal) -> Decimal:
    if value > LOAN_AMOUNT_MAX:
        raise ValueError(f"a loan may be for at most {LOAN_AMOUNT_MAX}")
    return value


LoanAmount = Annotated[
    PositiveMoney,
    AfterValidator(_loan_sized),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9]{1,13}(\.[0-9]{1,2})?$"},
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000_000_000},
            ],
            "examples": ["10000000.00"],
            "description": "CNY, more than 0.00 and at most 1000000000000.00: a string, or a "
            "JSON number with at most two decimals; no exponent.",
        },
        mode="validation",
    ),
]
"""The amount of an application (and so of its loan)."""


_SHARE_TEXT = re.compile(r"^[0-9]{1,4}(\.[0-9]+)?$")  # ASCII digits only


def _parse_share(value: object) -> Decimal:
    if isinstance(value, (bool, ExponentNumber)):
        raise ValueError("a share is a decimal such as 0.50")
    if isinstance(value, (int, Decimal)):
        share = Decimal(value)
    elif isinstance(value, str) and _SHARE_TEXT.fullmatch(value):
        try:
            share = Decimal(value)
        except ArithmeticError:
            raise ValueError("a share is a decimal such as 0.50") from None
    else:
        raise ValueError("a share is a decimal such as 0.50")
    if not share.is_finite() or not (0 < share <= 1):
        raise ValueError("a share is more than 0 and at most 1")
    exponent = share.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("a share has at most four decimals")
    return share.quantize(Decimal("0.0001"))


Share = Annotated[
    Decimal,
    BeforeValidator(_parse_share),
    PlainSerializer(lambda d: f"{d:.4f}", return_type=str),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "number"}], "examples": ["0.50"]}, mode="validation"
    ),
    WithJsonSchema({"type": "string", "examples": ["0.5000"]}, mode="serialization"),
]


Ratio = Annotated[
    Decimal,
    PlainSerializer(lambda d: f"{d:.4f}", return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d+\.\d{4}$", "examples": ["0.0950"]},
        mode="serialization",
    ),
]
"""A share or a weighted average, exact and rounded half-up to four places by whoever computes
it, answered as a string (never a float)."""


BasisPoints = Annotated[
    int, Field(ge=-100_000, le=100_000, description="Basis points (1 bp = 0.01%).")
]


@lru_cache(maxsize=4096)
def to_shanghai(value: datetime) -> str:
    """A timestamp as the API shows it: RFC 3339 at the Asia/Shanghai offset. An answer shows
    the same few instants several times (received, deadline, created, updated), so each is
    formatted once."""
    return value.astimezone(SHANGHAI).isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(to_shanghai, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
"""Output timestamps: RFC 3339 with the Asia/Shanghai offset."""


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class _Identified(Protocol):
    @property
    def id(self) -> UUID: ...


Item = TypeVar("Item", bound=_Identified)


def paged(rows: Sequence[Any], limit: int, convert: Callable[[Any], Item]) -> Page[Item]:
    """A page from ``limit + 1`` rows fetched newest first: the extra row only says there is a
    next page, whose cursor is the last item's id."""
    items = [convert(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def encode_cursor(last: UUID | int) -> str:
    """An opaque cursor for the item a page ended on (lists run newest first, by id)."""
    raw = last.bytes if isinstance(last, UUID) else last.to_bytes(8, "big", signed=True)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _bad_cursor() -> Exception:
    from app.core.errors import ValidationFailed, field_error

    return ValidationFailed(
        "the cursor is not one this service gave out",
        errors=[field_error(["query", "cursor"], "unknown cursor")],
    )


def _cursor_bytes(cursor: str, size: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if len(raw) != size:
        raise _bad_cursor()
    return raw


def decode_cursor(cursor: str | None) -> UUID | None:
    if not cursor:
        return None
    return UUID(bytes=_cursor_bytes(cursor, 16))


def decode_int_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    return int.from_bytes(_cursor_bytes(cursor, 8), "big", signed=True)


Limit = Annotated[int, Field(ge=1, le=200, description="Page size, at most 200."), ASCII_DIGITS]
