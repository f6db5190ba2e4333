"""JSON in and out without ever passing money through a float.

Request bodies are read strictly (``loads``): UTF-8 only (a UTF-16 or UTF-32 body, or a byte
order mark, is refused as 415), no duplicate member names, no lone surrogates, no NaN or
Infinity; fractional numbers become exact ``Decimal``s (an exponent is remembered, so money can
refuse it), so an integer field given ``12.0`` or ``1e1`` sees a Decimal and refuses it.
Integers of more than ``MAX_INTEGER_DIGITS`` digits and nesting deeper than the interpreter
follows are refused with a message of their own, not the interpreter's."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from app.core.errors import UnsupportedMediaType
from app.core.types import SHANGHAI

MAX_INTEGER_DIGITS = 4000  # under the interpreter's limit, whose message names its internals
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# A surrogate written as an escape; a lone one survives decoding and no UTF-8 text holds it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class DuplicateMember(ValueError):
    """An object names the same member twice: which one was meant is anybody's guess."""


class LoneSurrogate(ValueError):
    """A string holds half of a UTF-16 surrogate pair: no Unicode text does."""


class ExponentNumber(Decimal):
    """A JSON number written with an exponent (``1e5``): kept, so that money can refuse it."""


def _parse_float(text: str) -> Decimal:
    if "e" in text or "E" in text:
        return ExponentNumber(text)
    return Decimal(text)


def _parse_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS + 1:  # a sign, then the digits
        raise ValueError(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMember(f"the member {name[:64]!r} appears more than once")
            seen.add(name)
    return obj


def _utf8(data: bytes) -> str:
    # A JSON text starts with an ASCII character: a NUL among the first two bytes is the
    # mark of UTF-16 or UTF-32 (RFC 4627, section 3).
    if data.startswith(_BOMS) or data[:1] == b"\0" or data[1:2] == b"\0":
        raise UnsupportedMediaType("the body must be UTF-8 JSON, without a byte order mark")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsupportedMediaType("the body is not valid UTF-8") from None


def _check_surrogates(value: Any) -> None:
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise LoneSurrogate("a string holds a lone surrogate (\\ud800-\\udfff)")
    elif isinstance(value, dict):
        for name, member in value.items():
            _check_surrogates(name)
            _check_surrogates(member)
    elif isinstance(value, list):
        for item in value:
            _check_surrogates(item)


def loads(data: bytes | str) -> Any:
    """Parse a request body strictly (see the module's docstring). Raises ``ValueError`` for
    a body that is not valid JSON, and ``UnsupportedMediaType`` for one that is not UTF-8."""
    text = _utf8(bytes(data)) if isinstance(data, (bytes, bytearray)) else data
    try:
        value = json.loads(
            text,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
            object_pairs_hook=_object,
        )
        if _SURROGATE_ESCAPE.search(text):
            _check_surrogates(value)
    except RecursionError:
        raise ValueError("the body nests arrays or objects too deeply") from None
    return value


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        # At the Asia/Shanghai offset, as every answer shows a timestamp (an aware value;
        # a naive one, which the service never makes, is written as it is).
        return (value.astimezone(SHANGHAI) if value.tzinfo else value).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, UUID):  # the driver's UUIDs are a subclass orjson leaves to us
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def dumps_str(value: Any) -> str:
    """For jsonb parameters: SQLAlchemy's asyncpg codec takes jsonb as text."""
    return orjson.dumps(value, default=_default).decode()


def snapshot(value: Any) -> str:
    """The JSON text of an audit snapshot or an event payload: amounts as decimal strings,
    dates in ISO 8601, timestamps (as values; no snapshot keys anything by a timestamp) in
    RFC 3339 at the +08:00 offset, as the API shows them, ids as text, sets and tuples as
    arrays, and keys that are not text (numbers, ids, dates) as their text."""
    return orjson.dumps(
        value, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    ).decode()
