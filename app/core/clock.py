"""The one place the service asks what time it is, so tests can set it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from app.core.types import SHANGHAI


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests and demos: stands still until moved."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


def business_date(moment: datetime) -> date:
    """The Asia/Shanghai date of a moment."""
    return moment.astimezone(SHANGHAI).date()
