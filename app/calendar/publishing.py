"""Changing the calendar: an admin imports a year's notice or corrects a date, the operator
(re)loads the years the ``chinese-calendar`` package knows. Each change moves the calendar
revision, is audited, and is handed to the ``on_change`` listeners in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.calendar import loader, repository, service
from app.calendar.errors import CalendarYearUnpublished
from app.calendar.loader import ADMIN_SOURCE, PACKAGE_SOURCE, DayRow
from app.calendar.schemas import (
    CalendarDayIn,
    CalendarDayOut,
    CalendarYearIn,
    CalendarYearOut,
    HolidayOut,
    MakeupWorkdayOut,
)
from app.core import audit
from app.core.concurrency import named_versions
from app.core.context import Ctx
from app.core.errors import PreconditionFailed, ValidationFailed, field_error

_WEEKDAY_RULE = {
    "weekend": (True, "a weekend day is a Saturday or a Sunday"),
    "makeup_workday": (True, "a make-up working day is a Saturday or a Sunday"),
    "workday": (False, "a plain working day is a Monday to Friday"),
}


def year_from_rows(
    year: int,
    rows: Sequence[DayRow],
    *,
    source: str | None,
    notice: str | None,
    published_at: datetime | None,
    version: int,
) -> CalendarYearOut:
    return CalendarYearOut(
        year=year,
        published=True,
        source=source,
        notice=notice,
        published_at=published_at,
        version=version,
        holidays=[
            HolidayOut(date=r.day, name=r.holiday_name, name_zh=r.holiday_name_zh)
            for r in rows
            if r.kind == "holiday" or (not r.is_working and r.day.weekday() < 5)
        ],
        makeup_workdays=[
            MakeupWorkdayOut(date=r.day, name=r.holiday_name)
            for r in rows
            if r.kind == "makeup_workday"
        ],
    )


def _check_if_match(ctx: Ctx, version: int) -> None:
    if ctx.if_match is None:
        return
    wanted = named_versions(ctx.if_match)  # None: ``*``, a year that exists (version > 0)
    if version in (wanted or ()) or (wanted is None and version > 0):
        return
    raise PreconditionFailed(f"the year is at version {version}")


def _year_errors(year: int, body: CalendarYearIn) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    holidays: set[date] = set()
    for i, holiday in enumerate(body.holidays):
        loc: list[str | int] = ["body", "holidays", i, "date"]
        if holiday.date.year != year:
            errors.append(field_error(loc, f"not a date of {year}"))
        elif holiday.date in holidays:
            errors.append(field_error(loc, "listed twice"))
        holidays.add(holiday.date)
    makeup: set[date] = set()
    for i, day in enumerate(body.makeup_workdays):
        loc = ["body", "makeup_workdays", i]
        if day.year != year:
            errors.append(field_error(loc, f"not a date of {year}"))
        elif day.weekday() < 5:
            errors.append(field_error(loc, "a make-up working day is a Saturday or a Sunday"))
        elif day in makeup:
            errors.append(field_error(loc, "listed twice"))
        elif day in holidays:
            errors.append(field_error(loc, "also listed as a holiday"))
        makeup.add(day)
    return errors


async def publish_year(ctx: Ctx, *, year: int, body: CalendarYearIn) -> CalendarYearOut:
    """Import a year's notice; a year already published has all its days replaced."""
    service.check_year(year)
    errors = _year_errors(year, body)
    if errors:
        raise ValidationFailed(f"the calendar for {year} is not valid", errors=errors)
    rows = loader.year_rows(
        year,
        holidays={h.date: (h.name, h.name_zh or loader.name_zh(h.name)) for h in body.holidays},
        makeup_workdays={d: (None, None) for d in body.makeup_workdays},
    )
    with service.changing():
        await repository.bump_revision(ctx.db)
        before = service.year_out(year, await repository.year(ctx.db, year))
        _check_if_match(ctx, before.version)
        await repository.upsert_days(ctx.db, rows, source=ADMIN_SOURCE, at=ctx.now)
        [written] = await repository.upsert_years(
            ctx.db, [year], source=ADMIN_SOURCE, notice=body.notice, at=ctx.now
        )
        after = year_from_rows(
            year,
            rows,
            source=ADMIN_SOURCE,
            notice=body.notice,
            published_at=written["published_at"],
            version=written["version"],
        )
        audit.record(
            ctx,
            action="calendar_year.published",
            entity_type="calendar_year",
            entity_id=year,
            before=before.summary(),
            after=after.summary(),
        )
        await service.notify(ctx, {year})
    return after


def _day_errors(day: date, body: CalendarDayIn) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    rule = _WEEKDAY_RULE.get(body.kind)
    if rule is not None and (day.weekday() >= 5) != rule[0]:
        errors.append(field_error(["body", "kind"], f"{rule[1]}; {day} is a {day:%A}"))
    if body.kind == "holiday" and body.holiday_name is None:
        errors.append(field_error(["body", "holiday_name"], "a holiday needs its name"))
    if body.kind in ("workday", "weekend"):
        for name in ("holiday_name", "holiday_name_zh"):
            if getattr(body, name) is not None:
                errors.append(field_error(["body", name], f"a {body.kind} has no holiday name"))
    return errors


@dataclass(frozen=True, slots=True)
class Corrected:
    """A corrected date, and its year's version after the correction (the year's ETag)."""

    day: CalendarDayOut
    year_version: int


async def correct_day(ctx: Ctx, *, day: date, body: CalendarDayIn) -> Corrected:
    """Correct one date of a published year."""
    service.check_year(day.year)
    errors = _day_errors(day, body)
    if errors:
        raise ValidationFailed(f"{body.kind} does not fit {day}", errors=errors)
    row = DayRow(
        day,
        body.kind,
        body.holiday_name,
        body.holiday_name_zh or loader.name_zh(body.holiday_name),
    )
    with service.changing():
        await repository.bump_revision(ctx.db)
        current = await repository.day_in_year(ctx.db, day)
        if current is None or not current["published"]:
            raise CalendarYearUnpublished(
                f"{day.year} is not published: import its notice before correcting a date",
                year=day.year,
            )
        # A date's version is its year's (GET /v1/calendar/years/{year} gives it as ETag).
        _check_if_match(ctx, current["version"])
        version = await repository.correct_day(ctx.db, row, at=ctx.now)
        audit.record(
            ctx,
            action="calendar_day.corrected",
            entity_type="calendar_day",
            entity_id=day.isoformat(),
            before={k: current[k] for k in ("kind", "holiday_name", "holiday_name_zh", "source")},
            after={
                "kind": row.kind,
                "holiday_name": row.holiday_name,
                "holiday_name_zh": row.holiday_name_zh,
                "source": ADMIN_SOURCE,
                "reason": body.reason,
            },
        )
        await service.notify(ctx, {day.year})
    out = CalendarDayOut(
        date=day,
        is_working=row.is_working,
        kind=body.kind,
        holiday_name=row.holiday_name,
        holiday_name_zh=row.holiday_name_zh,
    )
    return Corrected(out, version)


@dataclass
class LoadSummary:
    source: str
    loaded: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # an admin's, kept without --force
    revision: int | None = None  # the new revision; None when nothing changed

    def line(self) -> str:
        revision = f"revision {self.revision}" if self.revision else "nothing changed"
        return (
            f"calendar from {self.source}: loaded {_spans(self.loaded)}; "
            f"unchanged {_spans(self.unchanged)}; "
            f"kept as an admin published them {_spans(self.skipped)}; {revision}"
        )


def _spans(years: list[int]) -> str:
    """2004–2014, 2016–2026"""
    if not years:
        return "none"
    spans: list[list[int]] = []
    for year in sorted(years):
        if spans and spans[-1][1] + 1 == year:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _stored_days(state: Any) -> list[DayRow]:
    return [
        DayRow(*r)
        for r in zip(
            state["days"] or [],
            state["kinds"] or [],
            state["names"] or [],
            state["names_zh"] or [],
            strict=True,
        )
    ]


def _sort_years(
    states: Any, package: dict[int, list[DayRow]], summary: LoadSummary, *, force: bool
) -> dict[int, CalendarYearOut]:
    """Which years to load (into ``summary``), and each loaded year as it was before."""
    befores: dict[int, CalendarYearOut] = {}
    for state in states:
        year = state["year"]
        stored = _stored_days(state)
        if state["published"] and state["source"] == PACKAGE_SOURCE and stored == package[year]:
            summary.unchanged.append(year)
            continue
        if not force and (state["source"] == ADMIN_SOURCE or state["admin_days"]):
            summary.skipped.append(year)
            continue
        summary.loaded.append(year)
        befores[year] = (
            year_from_rows(
                year,
                stored,
                source=state["source"],
                notice=state["notice"],
                published_at=None,
                version=0,
            )
            if state["published"]
            else service.year_out(year, None)
        )
    return befores


async def load_package(ctx: Ctx, *, force: bool = False) -> LoadSummary:
    """(Re)load every year the package knows. A year an admin published or corrected is kept
    unless ``force``. Loading what is already there changes nothing (no new revision)."""
    package = loader.package_rows()
    summary = LoadSummary(source=PACKAGE_SOURCE)
    with service.changing():
        await repository.lock(ctx.db)
        states = await repository.years_state(ctx.db, sorted(package))
        befores = _sort_years(states, package, summary, force=force)
        if not summary.loaded:
            return summary
        summary.revision = await repository.bump_revision(ctx.db)
        rows = [r for year in summary.loaded for r in package[year]]
        await repository.upsert_days(ctx.db, rows, source=PACKAGE_SOURCE, at=ctx.now)
        await repository.upsert_years(
            ctx.db, summary.loaded, source=PACKAGE_SOURCE, notice=None, at=ctx.now
        )
        for year in summary.loaded:
            after = year_from_rows(
                year,
                package[year],
                source=PACKAGE_SOURCE,
                notice=None,
                published_at=None,
                version=0,
            )
            audit.record(
                ctx,
                action="calendar_year.loaded",
                entity_type="calendar_year",
                entity_id=year,
                before=befores[year].summary(),
                after=after.summary(),
            )
        await service.notify(ctx, set(summary.loaded))
    return summary
