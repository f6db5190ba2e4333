"""The working-day calendar as the rest of the service uses it: a process-wide index that knows
when to reload, listeners told of every change, and the read side of the calendar endpoints.

The index is cached per process and keyed by ``calendar_state.revision``. Revisions come from a
sequence, so a number is never reused, not even after a rollback; and while this process is
changing the calendar nothing it loads is cached, so no other request ever sees a change before
it commits.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import cast

import asyncpg

from app.calendar import repository
from app.calendar.index import CalendarIndex
from app.calendar.schemas import (
    CalendarDayOut,
    CalendarDaysOut,
    CalendarYearOut,
    DayKind,
    HolidayOut,
    MakeupWorkdayOut,
    WorkingDaysOut,
)
from app.core.context import Ctx
from app.core.db import Db
from app.core.errors import NotFound, ValidationFailed, field_error
from app.core.types import DATE_MAX, DATE_MIN

CALENDAR_REVISION_SQL = repository.CALENDAR_REVISION_SQL
"""``(SELECT revision FROM calendar_state WHERE id = 1)``: fold it into a read, pass the value to
``get_index(db, revision=...)``, and the index costs no round trip of its own."""

# The years of the dates the service accepts (``app.core.types``): no other year has a date a
# caller could send, so none other is a year of the calendar.
FIRST_YEAR, LAST_YEAR = DATE_MIN.year, DATE_MAX.year
RECHECK_S = 1.0
MAX_DAYS_LISTED = 400

Listener = Callable[[Ctx, CalendarIndex, set[int]], Awaitable[None]]

_cached: CalendarIndex | None = None
_checked_at = 0.0
_changes_in_progress = 0
_listeners: list[Listener] = []
# One lock per event loop (a process has one; the tests start many).
_refresh_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def invalidate() -> None:
    """Forget the cached index; the next ``get_index`` loads it again."""
    global _cached
    _cached = None


async def load_index(db: Db) -> CalendarIndex:
    """An index of the calendar as ``db`` sees it (its own uncommitted changes included)."""
    row = await repository.snapshot(db)
    days = row["days"] or []
    return CalendarIndex(
        revision=row["revision"],
        published_years=row["years"],
        days=zip(days, row["kinds"] or [], row["names"] or [], row["names_zh"] or [], strict=True),
    )


def _usable(revision: int | None) -> CalendarIndex | None:
    """The cached index, if it may be served: of ``revision``, or checked less than
    ``RECHECK_S`` ago."""
    cached = _cached
    if cached is None:
        return None
    if revision is not None:
        return cached if revision == cached.revision else None
    return cached if time.monotonic() - _checked_at < RECHECK_S else None


def _refresh_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _refresh_locks.get(loop)
    if lock is None:
        lock = _refresh_locks[loop] = asyncio.Lock()
    return lock


async def get_index(db: Db, *, revision: int | None = None) -> CalendarIndex:
    """The process's index. With ``revision`` (read by the caller, e.g. by folding
    ``CALENDAR_REVISION_SQL`` into its own statement): no query when it is the cached one.
    Without: the revision is checked at most once a second, by one request, while the others
    are served the index it checks.

    One request at a time checks or reloads it; when nothing is cached, or a caller's
    ``revision`` is not the cached one, the others wait for that one and take what it found.
    (Each loading the calendar for itself, the first requests of a new process, 64 at once,
    spent the first second of its life loading it 64 times.)"""
    global _cached, _checked_at
    if _changes_in_progress:
        return await load_index(db)
    usable = _usable(revision)
    if usable is not None:
        return usable
    lock = _refresh_lock()
    cached = _cached
    if revision is None and cached is not None and lock.locked():
        # Another request is checking (or reloading) it: meanwhile the index is served as it
        # was until a moment ago. Waiting for that round trip held up every request arriving
        # in it, once a second, and made most of a submission's p99 at 16 connections.
        return cached
    async with lock:
        usable = _usable(revision)
        if usable is not None:
            return usable
        cached = _cached
        if cached is not None and revision is None:
            current = await repository.revision(db)
            if current == cached.revision:
                _checked_at = time.monotonic()
                return cached
        index = await load_index(db)
        if not _changes_in_progress:
            _cached, _checked_at = index, time.monotonic()
        return index


def on_change(listener: Listener) -> Listener:
    """Register ``async listener(ctx, index, changed_years)``: awaited inside the transaction
    that publishes a year or corrects a date, with an index that includes the change."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


@contextmanager
def changing() -> Iterator[None]:
    """Around a calendar change: nothing loaded meanwhile is cached, and the cache is dropped
    before and after (the change's own request then sees it at once)."""
    global _changes_in_progress
    _changes_in_progress += 1
    invalidate()
    try:
        yield
    finally:
        _changes_in_progress -= 1
        invalidate()


async def notify(ctx: Ctx, changed_years: set[int]) -> None:
    if not _listeners:
        return
    index = await load_index(ctx.db)
    for listener in list(_listeners):
        await listener(ctx, index, set(changed_years))


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NotFound(f"the calendar covers {FIRST_YEAR} to {LAST_YEAR}")


async def add_working_days(ctx: Ctx, *, start: date, add: int) -> WorkingDaysOut:
    index = await get_index(ctx.db)
    return WorkingDaysOut(from_=start, add=add, date=index.add_working_days(start, add))


async def get_year(ctx: Ctx, *, year: int) -> CalendarYearOut:
    check_year(year)
    return year_out(year, await repository.year(ctx.db, year))


def year_out(year: int, row: asyncpg.Record | None) -> CalendarYearOut:
    if row is None or not row["published"]:
        return CalendarYearOut(
            year=year,
            published=False,
            source=None if row is None else row["source"],
            notice=None,
            published_at=None,
            version=0 if row is None else row["version"],
            holidays=[],
            makeup_workdays=[],
        )
    return CalendarYearOut(
        year=year,
        published=True,
        source=row["source"],
        notice=row["notice"],
        published_at=row["published_at"],
        version=row["version"],
        holidays=[HolidayOut(**h) for h in row["holidays"]],
        makeup_workdays=[MakeupWorkdayOut(**m) for m in row["makeup_workdays"]],
    )


async def list_days(ctx: Ctx, *, start: date, end: date) -> CalendarDaysOut:
    if end < start:
        raise ValidationFailed(
            "`to` is before `from`", errors=[field_error(["query", "to"], "before `from`")]
        )
    if (end - start).days + 1 > MAX_DAYS_LISTED:
        raise ValidationFailed(
            f"at most {MAX_DAYS_LISTED} days at a time",
            errors=[field_error(["query", "to"], f"more than {MAX_DAYS_LISTED} days after from")],
        )
    index = await get_index(ctx.db)
    items: list[CalendarDayOut] = []
    unpublished: list[int] = []
    day = start
    while day <= end:
        info = index.day(day)
        if info is not None:
            items.append(
                CalendarDayOut(
                    date=day,
                    is_working=info.is_working,
                    # The table's check constraint admits only these kinds.
                    kind=cast(DayKind, info.kind),
                    holiday_name=info.holiday_name,
                    holiday_name_zh=info.holiday_name_zh,
                )
            )
        elif not unpublished or unpublished[-1] != day.year:
            unpublished.append(day.year)
        day += timedelta(days=1)
    return CalendarDaysOut(items=items, unpublished_years=unpublished)
