from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import IsoDate, Strict, Timestamp
from app.core.types import FreeText, Text

DayKind = Literal["workday", "weekend", "holiday", "makeup_workday"]


class WorkingDaysOut(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: IsoDate = Field(alias="from", description="The date the period runs from.")
    add: int = Field(description="Working days added.")
    date: IsoDate = Field(description="The `add`-th working day strictly after `from`.")


class HolidayOut(BaseModel):
    date: IsoDate
    name: str | None
    name_zh: str | None


class MakeupWorkdayOut(BaseModel):
    date: IsoDate
    name: str | None = Field(description="The holiday it makes up for, where known.")


class CalendarYearOut(BaseModel):
    year: int
    published: bool
    source: str | None = Field(
        description="`admin`, or the package release the notice was loaded from."
    )
    notice: str | None = Field(description="The State Council notice, as the admin named it.")
    published_at: Timestamp | None
    version: int = Field(description="0 until the year is first published.")
    holidays: list[HolidayOut] = Field(
        description="Every non-working weekday and every day named for a holiday."
    )
    makeup_workdays: list[MakeupWorkdayOut] = Field(
        description="Saturdays and Sundays that are working days (调休)."
    )

    def summary(self) -> dict[str, Any]:
        """What the audit trail keeps of a year's state."""
        return {
            "published": self.published,
            "source": self.source,
            "notice": self.notice,
            "holidays": {h.date.isoformat(): h.name for h in self.holidays},
            "makeup_workdays": [m.date.isoformat() for m in self.makeup_workdays],
        }


class HolidayIn(Strict):
    date: IsoDate
    name: Text = Field(min_length=1, max_length=100)
    name_zh: Text | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Defaults to the usual Chinese name of a known holiday (e.g. 春节).",
    )


class CalendarYearIn(Strict):
    holidays: list[HolidayIn] = Field(
        max_length=366, description="Every day off: the holidays and the weekends they span."
    )
    makeup_workdays: list[IsoDate] = Field(
        max_length=366, description="Saturdays and Sundays worked instead (调休上班)."
    )
    notice: FreeText = Field(min_length=1, max_length=2000, description="The notice imported.")


class CalendarDayIn(Strict):
    kind: DayKind
    holiday_name: Text | None = Field(default=None, min_length=1, max_length=100)
    holiday_name_zh: Text | None = Field(default=None, min_length=1, max_length=100)
    reason: FreeText = Field(
        min_length=1, max_length=1000, description="Why the date is corrected."
    )


class CalendarDayOut(BaseModel):
    date: IsoDate
    is_working: bool
    kind: DayKind
    holiday_name: str | None
    holiday_name_zh: str | None


class CalendarDaysOut(BaseModel):
    items: list[CalendarDayOut] = Field(description="The dates of published years, in order.")
    unpublished_years: list[int] = Field(
        description="Years in the range whose dates are left out: not published yet."
    )
