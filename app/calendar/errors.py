from __future__ import annotations

from typing import Any

from app.core.errors import DomainError


class CalendarYearUnpublished(DomainError):
    """A computation needs a date of a year whose holiday notice is not loaded: the service never
    guesses a working day. ``year`` is the first such year the computation reaches."""

    slug, status, title = (
        "calendar-year-unpublished",
        409,
        "The working-day calendar for that year is not published",
    )

    def __init__(self, detail: str | None = None, *, year: int, **extensions: Any) -> None:
        self.year = year
        super().__init__(
            detail or f"the working-day calendar for {year} is not published yet",
            year=year,
            **extensions,
        )
