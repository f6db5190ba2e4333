"""Calendar fixtures. The working-day index is cached per process while every test runs in a
transaction that is rolled back: each test starts and ends with an empty cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.calendar import loader, service
from app.calendar.index import CalendarIndex


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    service.invalidate()
    yield
    service.invalidate()


def package_index(*, without: set[int] | frozenset[int] = frozenset()) -> CalendarIndex:
    """The calendar as the pinned package has it, straight from the loader (no database)."""
    rows = loader.package_rows()
    return CalendarIndex(
        revision=0,
        published_years=[y for y in rows if y not in without],
        days=[
            (r.day, r.kind, r.holiday_name, r.holiday_name_zh)
            for year_rows in rows.values()
            for r in year_rows
        ],
    )


@pytest.fixture(scope="session")
def index() -> CalendarIndex:
    return package_index()
