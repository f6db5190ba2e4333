"""Answers built as JSON documents rather than through response models.

The largest answers on the hot paths (loans with their schedules, applications with their
clocks and pledges) are built directly from the domain objects their services hand out, in
exactly the form their documented model gives (``app/loans/views.py``,
``app/applications/views.py``, each held to its model by tests; docs/decisions/0018). This is
what they share: the response class and the form of money.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from starlette.responses import Response


def _uuid(value: Any) -> str:
    # The driver's UUIDs are a subclass orjson does not take as its own.
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not part of a view: {type(value).__name__}")


class JsonView(Response):
    """An answer whose body is a view: plain JSON types, dates and UUIDs, serialised once."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_uuid)


def money(value: Decimal) -> str:
    """Two decimals, as ``Money`` answers. Amounts here are ``numeric(20, 2)`` values or sums
    of them, whose own text already is that form, and ``str`` costs a quarter of formatting;
    anything else is formatted."""
    text = str(value)
    return text if text[-3:-2] == "." else f"{value:.2f}"
