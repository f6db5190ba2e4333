"""JSON in and out without ever passing money through a float."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson


class ExponentNumber(Decimal):
    """A JSON number written with an exponent (``1e5``): kept, so that money can refuse it."""


def _parse_float(text: str) -> Decimal:
    if "e" in text or "E" in text:
        return ExponentNumber(text)
    return Decimal(text)


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Parse a request body: fractional numbers become exact ``Decimal``s; NaN and Infinity,
    which JSON does not have, are refused."""
    return json.loads(data, parse_float=_parse_float, parse_constant=_parse_constant)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def dumps_str(value: Any) -> str:
    """For jsonb parameters: SQLAlchemy's asyncpg codec takes jsonb as text."""
    return orjson.dumps(value, default=_default).decode()


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for audit snapshots and event payloads."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value
