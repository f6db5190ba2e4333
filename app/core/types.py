"""The input types every operation shares, so that one rule holds for every field of its kind.

- ``IsoDate``: every date a caller sends (body, query or path), ``YYYY-MM-DD`` and within
  1990-01-01 … 2100-12-31. Business rules narrow it further; the bounds alone keep any date
  arithmetic on it (deadlines, projections, ``+ timedelta``) far from ``date.max``, and keep
  PostgreSQL's ``infinity`` and five-digit years out of the database.
- ``AwareDatetime``: an RFC 3339 timestamp with its offset, within the same years.
- ``Text`` and ``FreeText``: text that holds no control character, no invisible format
  character (a bidi override, a zero-width space) and no lone surrogate (``FreeText``, for
  reasons, purposes and notes, may hold CR and LF line breaks), with a maximum length.
- ``Integer``: a JSON integer and nothing else (not ``true``, ``"12"``, ``12.0`` or ``1e1``);
  ``ASCII_DIGITS``: one in a query string is written in ASCII digits.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetJsonSchemaHandler,
    Strict,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The zone of business dates, and the offset every timestamp the service shows carries."""

DATE_MIN = date(1990, 1, 1)
DATE_MAX = date(2100, 12, 31)
TEXT_MAX = 200
FREE_TEXT_MAX = 2000

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATE_RANGE = f"{DATE_MIN.isoformat()} … {DATE_MAX.isoformat()}"


def _iso_date(value: Any) -> Any:
    # Pydantic would read "0", "86400" or a number as a Unix time in 1970: a date is only
    # ever written YYYY-MM-DD, in ASCII digits.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


def _date_in_range(value: date) -> date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"a date lies within {_DATE_RANGE}")
    return value


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_date_in_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": f"YYYY-MM-DD, within {_DATE_RANGE}.",
        },
        mode="validation",
    ),
]
"""A calendar date, ISO 8601 ``YYYY-MM-DD`` and nothing else, within 1990 … 2100."""

_TIMESTAMP_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_TIMESTAMP_MAX = datetime(2101, 1, 1, tzinfo=UTC)


# RFC 3339's date-time (section 5.6): seconds and an offset required, the separator ``T``, ``t``
# or a space (its note), a fraction of at most nine digits.
_RFC_3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _rfc_3339(value: Any) -> Any:
    # Pydantic would read a number, or a string of digits, as Unix seconds (past 2e10 as
    # milliseconds) in UTC: an offset the caller never wrote. A timestamp is only ever written
    # as RFC 3339.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC_3339.fullmatch(value):
        return value
    raise ValueError("a timestamp is written as RFC 3339, e.g. 2026-02-13T09:30:00+08:00")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs its offset, e.g. 2026-02-13T09:30:00+08:00")
    if not _TIMESTAMP_MIN <= value < _TIMESTAMP_MAX:
        raise ValueError(f"a timestamp lies within {_DATE_RANGE}")
    return value


AwareDatetime = Annotated[datetime, BeforeValidator(_rfc_3339), AfterValidator(_aware)]
"""An RFC 3339 timestamp with its offset, within 1990 … 2100."""


# Invisible format characters (Unicode category Cf: bidi overrides and isolates, zero-width
# characters, the byte order mark, tags), which make text read one way and compare another, and
# the line and paragraph separators U+2028 and U+2029 (the only line breaks are CR and LF).
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
# C0 and C1 controls, DEL, the format characters above, and lone surrogates (which no UTF-8
# text can hold).
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}\ud800-\udfff]")
_CONTROL_BUT_LINE_BREAKS = re.compile(
    f"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}\ud800-\udfff]"
)


def _line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("text may not hold control or invisible formatting characters")
    return value


def _free(value: str) -> str:
    if _CONTROL_BUT_LINE_BREAKS.search(value):
        raise ValueError(
            "text may not hold control or invisible formatting characters other than line breaks"
        )
    return value


def _text_max(value: str) -> str:
    if len(value) > TEXT_MAX:
        raise ValueError(f"at most {TEXT_MAX} characters")
    return value


def _free_text_max(value: str) -> str:
    if len(value) > FREE_TEXT_MAX:
        raise ValueError(f"at most {FREE_TEXT_MAX} characters")
    return value


class _Documented:
    """Documents a ceiling as ``maxLength`` where the field gives none of its own."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if schema.get("type") == "string":
            schema.setdefault("maxLength", self.limit)
        return schema


# The ceilings are validators, not ``max_length`` constraints: a field's own
# ``Field(max_length=...)`` (shorter, and documented as ``maxLength``) then still applies.
Line = Annotated[str, AfterValidator(_line)]
"""One line of text with no ceiling of its own: only for a field that sets a longer
``max_length`` than ``Text`` allows (a URL)."""

Text = Annotated[str, AfterValidator(_line), AfterValidator(_text_max), _Documented(TEXT_MAX)]
"""One line of text: names, numbers, titles, codes, query parameters. No control character;
at most 200 characters, or fewer where the field says so."""

FreeText = Annotated[
    str, AfterValidator(_free), AfterValidator(_free_text_max), _Documented(FREE_TEXT_MAX)
]
"""Free text (reasons, purposes, notes): line breaks allowed, no other control character; at
most 2000 characters, or fewer where the field says so."""


def _distinct(values: list[Any] | None) -> list[Any] | None:
    if values is None:
        return None
    return list(dict.fromkeys(values))


Distinct = AfterValidator(_distinct)
"""For a list of choices that is a set (industries): each choice is kept once, in the order
first given, so a body repeating one choice within the size limit stores and reads back that
choice once. Validates stored lists the same way, so none read before can fail."""

Integer = Annotated[int, Strict()]
"""A JSON integer: ``true``, ``"12"``, ``12.0`` and ``1e1`` are refused."""

_DECIMAL_DIGITS = re.compile(r"-?[0-9]{1,18}")


def _decimal_digits(value: Any) -> Any:
    if isinstance(value, str) and not _DECIMAL_DIGITS.fullmatch(value):
        raise ValueError("an integer is written in the digits 0-9, such as 50")
    return value


ASCII_DIGITS = BeforeValidator(_decimal_digits)
"""For an integer in a query string: ASCII digits only (not ``12.0``, ``1e1``, ``12_0`` or
``１２``). Put it after the ``Field``/``Query`` that bounds the integer, so that the bounds are
documented as ``minimum`` and ``maximum``."""
