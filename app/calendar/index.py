"""The working-day calendar as an immutable, in-memory snapshot, and its arithmetic.

Working days of the published years are kept as a sorted tuple of date ordinals and the published
years as contiguous ordinal ranges, so that adding N working days is two binary searches and an
index, whatever N is and however many year ends or holidays lie in between.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from app.calendar.errors import CalendarYearUnpublished

KINDS = ("workday", "weekend", "holiday", "makeup_workday")
WORKING_KINDS = frozenset({"workday", "makeup_workday"})
_MAX_ORDINAL = date.max.toordinal()


@dataclass(frozen=True, slots=True)
class DayInfo:
    is_working: bool
    kind: str
    holiday_name: str | None = None
    holiday_name_zh: str | None = None


# Most days are plain working days or weekends: one shared instance each.
_PLAIN = {
    "workday": DayInfo(True, "workday"),
    "weekend": DayInfo(False, "weekend"),
}


def _year_of(ordinal: int) -> int:
    # The day after date.max has no date; it is still "the year after".
    return date.fromordinal(ordinal).year if ordinal <= _MAX_ORDINAL else date.max.year + 1


class CalendarIndex:
    """A snapshot of the calendar at ``revision``. Never changes once built."""

    __slots__ = ("_days", "_ends", "_published", "_starts", "_work", "revision")

    revision: int
    _published: frozenset[int]
    _days: MappingProxyType[int, DayInfo]
    _starts: tuple[int, ...]
    _ends: tuple[int, ...]
    _work: tuple[int, ...]

    def __init__(
        self,
        *,
        revision: int,
        published_years: Iterable[int],
        days: Iterable[tuple[date, str, str | None, str | None]],
    ) -> None:
        """``days``: (date, kind, holiday_name, holiday_name_zh) for the dates of the published
        years; rows of other years are ignored."""
        published = frozenset(published_years)
        infos: dict[int, DayInfo] = {}
        for day, kind, name, name_zh in days:
            if day.year not in published:
                continue
            if kind not in KINDS:
                raise ValueError(f"unknown day kind {kind!r}")
            if name is None and name_zh is None and kind in _PLAIN:
                info = _PLAIN[kind]
            else:
                info = DayInfo(kind in WORKING_KINDS, kind, name, name_zh)
            infos[day.toordinal()] = info
        starts: list[int] = []
        ends: list[int] = []
        for year in sorted(published):
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            if ends and ends[-1] + 1 == first:
                ends[-1] = last
            else:
                starts.append(first)
                ends.append(last)
        object.__setattr__(self, "revision", revision)
        object.__setattr__(self, "_published", published)
        object.__setattr__(self, "_starts", tuple(starts))
        object.__setattr__(self, "_ends", tuple(ends))
        object.__setattr__(
            self, "_work", tuple(sorted(o for o, info in infos.items() if info.is_working))
        )
        object.__setattr__(self, "_days", MappingProxyType(infos))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a CalendarIndex is immutable")

    def __repr__(self) -> str:
        years = sorted(self._published)
        span = f"{years[0]}..{years[-1]}" if years else "none"
        return f"<CalendarIndex revision={self.revision} published={span}>"

    @property
    def published_years(self) -> frozenset[int]:
        return self._published

    def is_published(self, year: int) -> bool:
        return year in self._published

    def day(self, d: date) -> DayInfo | None:
        """What ``d`` is, or None when its year is not published."""
        return self._days.get(d.toordinal())

    def _covered_until(self, ordinal: int) -> int | None:
        """The last day of the run of published years that holds ``ordinal``."""
        i = bisect_right(self._starts, ordinal) - 1
        if i >= 0 and ordinal <= self._ends[i]:
            return self._ends[i]
        return None

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day strictly after ``start`` (the Civil Code does not count the
        first day of a period). Raises ``CalendarYearUnpublished`` with the first unpublished
        year when any date in (start, result] lies in one."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return start
        s = start.toordinal()
        covered_until = self._covered_until(s + 1)
        if covered_until is None:
            raise CalendarYearUnpublished(year=_year_of(s + 1))
        j = bisect_right(self._work, s) + n - 1
        if j < len(self._work) and self._work[j] <= covered_until:
            return date.fromordinal(self._work[j])
        raise CalendarYearUnpublished(year=_year_of(covered_until + 1))

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d have start < d <= end (0 when end <= start)."""
        if end <= start:
            return 0
        s, e = start.toordinal(), end.toordinal()
        covered_until = self._covered_until(s + 1)
        if covered_until is None:
            raise CalendarYearUnpublished(year=_year_of(s + 1))
        if e > covered_until:
            raise CalendarYearUnpublished(year=_year_of(covered_until + 1))
        return bisect_right(self._work, e) - bisect_right(self._work, s)
