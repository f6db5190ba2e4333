"""Building a year's calendar rows: from the State Council's notice as the ``chinese-calendar``
package records it (migration 0003 and ``ipledge calendar load``), or from an admin's import of a
newly issued notice. Plain functions over plain data; no database here."""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version

PACKAGE = "chinesecalendar"
PACKAGE_SOURCE = f"chinese-calendar {version(PACKAGE)}"
ADMIN_SOURCE = "admin"

# The package names holidays in English; the notices name them in Chinese.
NAMES_ZH: Mapping[str, str] = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    kind: str
    holiday_name: str | None = None
    holiday_name_zh: str | None = None

    @property
    def is_working(self) -> bool:
        return self.kind in ("workday", "makeup_workday")


Names = tuple[str | None, str | None]


def year_rows(
    year: int, *, holidays: Mapping[date, Names], makeup_workdays: Mapping[date, Names]
) -> list[DayRow]:
    """Every date of ``year``: a holiday or make-up working day when listed (with its English
    and Chinese names), otherwise a working day Monday to Friday and a weekend day Saturday and
    Sunday. The caller has checked that the two mappings are disjoint and within the year."""
    rows: list[DayRow] = []
    day = date(year, 1, 1)
    for _ in range(366 if _stdlib_calendar.isleap(year) else 365):
        if day in holidays:
            rows.append(DayRow(day, "holiday", *holidays[day]))
        elif day in makeup_workdays:
            rows.append(DayRow(day, "makeup_workday", *makeup_workdays[day]))
        else:
            rows.append(DayRow(day, "weekend" if day.weekday() >= 5 else "workday"))
        day += timedelta(days=1)
    return rows


def name_zh(name: str | None) -> str | None:
    return NAMES_ZH.get(name) if name else None


def _named(name: str) -> Names:
    if name not in NAMES_ZH:
        # A new package release with a holiday we have no Chinese name for: say so, never store
        # a half-named holiday.
        raise ValueError(f"no Chinese name for the holiday {name!r}: add it to NAMES_ZH")
    return name, NAMES_ZH[name]


def package_years() -> range:
    """The years the installed ``chinese-calendar`` knows."""
    from chinese_calendar import constants

    return range(min(constants.holidays).year, max(constants.holidays).year + 1)


def package_rows() -> dict[int, list[DayRow]]:
    """Every date of every year the package knows, by year."""
    from chinese_calendar import constants

    years = package_years()
    by_year: dict[int, tuple[dict[date, Names], dict[date, Names]]] = {
        year: ({}, {}) for year in years
    }
    for day, name in constants.holidays.items():
        by_year[day.year][0][day] = _named(name)
    for day, name in constants.workdays.items():
        if day.year in by_year:
            by_year[day.year][1][day] = _named(name)
    return {
        year: year_rows(year, holidays=holidays, makeup_workdays=makeup)
        for year, (holidays, makeup) in by_year.items()
    }
