"""The working-day calendar: arithmetic for anyone, publishing and corrections for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Path, Query, Response
from pydantic import BeforeValidator

from app.calendar import publishing, service
from app.calendar.errors import CalendarYearUnpublished
from app.calendar.schemas import (
    CalendarDayIn,
    CalendarDayOut,
    CalendarDaysOut,
    CalendarYearIn,
    CalendarYearOut,
    WorkingDaysOut,
)
from app.core.errors import NotFound, PreconditionFailed, problems
from app.core.roles import ALL_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access, any_key
from app.core.schemas import IsoDate
from app.core.types import ASCII_DIGITS

router = ApiRouter(prefix="/v1/calendar", tags=["calendar"])


def _one_spelling(value: object) -> object:
    """A year has one address: 2026, not 02026."""
    if isinstance(value, str) and len(value) > 1 and value.startswith("0"):
        raise ValueError("write the year without leading zeros")
    return value


# Written in ASCII digits, as every integer a caller sends (not 2026.0, +2026 or ２０２６), and
# without leading zeros.
Year = Annotated[
    int,
    Path(description="The year, e.g. 2026."),
    ASCII_DIGITS,
    BeforeValidator(_one_spelling),
]


@router.get(
    "/working-days", response_model=WorkingDaysOut, responses=problems(CalendarYearUnpublished)
)
@any_key
async def add_working_days(
    ctx: CtxDep,
    from_: Annotated[IsoDate, Query(alias="from", description="The date the period runs from.")],
    add: Annotated[int, Query(ge=0, le=1000, description="Working days to add."), ASCII_DIGITS],
) -> WorkingDaysOut:
    """The `add`-th working day strictly after `from` (the first day of a period is not
    counted). 409 `calendar-year-unpublished`, with `year`, when it needs a year whose holiday
    notice is not loaded yet."""
    return await service.add_working_days(ctx, start=from_, add=add)


@router.get("/days", response_model=CalendarDaysOut, responses=problems())
@any_key
async def list_calendar_days(
    ctx: CtxDep,
    from_: Annotated[IsoDate, Query(alias="from", description="First date.")],
    to: Annotated[IsoDate, Query(description="Last date, at most 400 days in all.")],
) -> CalendarDaysOut:
    """Every date of a range, working or not and why (for drawing a calendar)."""
    return await service.list_days(ctx, start=from_, end=to)


@router.get("/years/{year}", response_model=CalendarYearOut, responses=problems(NotFound))
@access(ALL_ROLES, etag=True)
async def get_calendar_year(year: Year, ctx: CtxDep, response: Response) -> CalendarYearOut:
    """A year's status, its days off on weekdays and named holidays, and its make-up working
    days. An unpublished year answers with `published: false`."""
    out = await service.get_year(ctx, year=year)
    response.headers["ETag"] = f'"{out.version}"'
    return out


@router.put(
    "/years/{year}",
    response_model=CalendarYearOut,
    responses=problems(NotFound, PreconditionFailed),
)
@access(Role.ADMIN, if_match=True, etag=True)
async def publish_calendar_year(
    year: Year,
    body: CalendarYearIn,
    ctx: CtxDep,
    response: Response,
    background: BackgroundTasks,
) -> CalendarYearOut:
    """Import the State Council's holiday notice for a year (or replace it): its days off and
    its make-up working days; every other date follows the week. Honours `If-Match`."""
    out = await publishing.publish_year(ctx, year=year, body=body)
    response.headers["ETag"] = f'"{out.version}"'
    # Runs once the change has committed, so this process serves it without waiting.
    background.add_task(service.invalidate)
    return out


@router.put(
    "/days/{day}",
    response_model=CalendarDayOut,
    responses=problems(NotFound, CalendarYearUnpublished, PreconditionFailed),
)
@access(Role.ADMIN, if_match=True, etag=True)
async def correct_calendar_day(
    day: IsoDate,
    body: CalendarDayIn,
    ctx: CtxDep,
    background: BackgroundTasks,
    response: Response,
) -> CalendarDayOut:
    """Correct one date of a published year. The kind must fit the weekday: `weekend` and
    `makeup_workday` only on Saturdays and Sundays, `workday` only Monday to Friday; a
    `holiday` (any day) needs its name. Honours `If-Match` with the year's version (the
    `ETag` of its year): 412 when the year has changed since. Answers with the year's new
    `ETag`, for the next correction."""
    corrected = await publishing.correct_day(ctx, day=day, body=body)
    background.add_task(service.invalidate)
    response.headers["ETag"] = f'"{corrected.year_version}"'
    return corrected.day
