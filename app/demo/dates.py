"""The demo's dates, planned from the service's calendar and its clock.

Two stories need dates in the past, and the service allows receipts back-dated by at most
``IPLEDGE_MAX_BACKDATE_DAYS`` (default 30):

* an application whose approval clock runs across a public holiday: received on the eve of the
  latest holiday within ``REACH_BACK_DAYS`` (or today, when a holiday lies within the tier's
  working days ahead);
* a loan with an instalment already due, so that a repayment pays interest and raises an
  interest-subsidy claim: disbursed a month ago, on an application received a few days before.

Plain functions over the calendar's days (``GET /v1/calendar/days``), no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

REACH_BACK_DAYS = 120
"""How far back the demo plans a receipt: the longest gap between two public holidays is about
100 days (Dragon Boat to Mid-autumn). The service must allow it (IPLEDGE_MAX_BACKDATE_DAYS)."""

HOLIDAY_TIER_DAYS = 5
"""The tier of the application that crosses a holiday (amounts over CNY 10m up to 30m)."""


@dataclass(frozen=True)
class Day:
    date: date
    is_working: bool
    kind: str
    holiday_name: str | None = None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Day:
        return cls(
            date=date.fromisoformat(item["date"]),
            is_working=item["is_working"],
            kind=item["kind"],
            holiday_name=item.get("holiday_name"),
        )


class Calendar:
    """The published days the service returned; a date outside them is unknown (``None``)."""

    def __init__(self, days: Iterable[Day]) -> None:
        self.days = {day.date: day for day in days}

    def add_working_days(self, start: date, n: int) -> date | None:
        """The n-th working day strictly after ``start``; None when it runs past the days known."""
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            info = self.days.get(day)
            if info is None:
                return None
            counted += info.is_working
        return day

    def last_working_day(self, on_or_before: date) -> date | None:
        day = on_or_before
        while (info := self.days.get(day)) is not None:
            if info.is_working:
                return day
            day -= timedelta(days=1)
        return None

    def non_working_between(self, after: date, upto: date) -> list[Day]:
        """The holidays and weekends in (after, upto]."""
        return [
            info
            for offset in range(1, (upto - after).days + 1)
            if (info := self.days.get(after + timedelta(days=offset))) and not info.is_working
        ]

    def makeup_workdays_between(self, after: date, upto: date) -> list[Day]:
        return [
            info
            for offset in range(1, (upto - after).days + 1)
            if (info := self.days.get(after + timedelta(days=offset)))
            and info.kind == "makeup_workday"
        ]


def holidays_crossed(calendar: Calendar, after: date, upto: date) -> dict[str, list[date]]:
    """The public holidays in (after, upto], by name, each with its dates in order."""
    crossed: dict[str, list[date]] = {}
    for info in calendar.non_working_between(after, upto):
        if info.kind == "holiday":
            crossed.setdefault(info.holiday_name or "public holiday", []).append(info.date)
    return crossed


def holiday_receipt(
    calendar: Calendar,
    today: date,
    *,
    tier_days: int = HOLIDAY_TIER_DAYS,
    reach_back_days: int = REACH_BACK_DAYS,
) -> date | None:
    """The latest receipt date whose approval clock of ``tier_days`` working days runs across a
    public holiday, no more than ``reach_back_days`` ago; None when no holiday is in reach."""
    deadline = calendar.add_working_days(today, tier_days)
    if deadline is not None and holidays_crossed(calendar, today, deadline):
        return today
    earliest = today - timedelta(days=reach_back_days)
    day = today
    while day >= earliest:
        info = calendar.days.get(day)
        if info is not None and info.kind == "holiday":
            # The eve: the last working day before the holiday and the days off around it.
            eve = calendar.last_working_day(day - timedelta(days=1))
            return eve if eve is not None and eve >= earliest else None
        day -= timedelta(days=1)
    return None


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), or the month's last day where it has none."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


@dataclass(frozen=True)
class LoanDates:
    received_on: date
    disbursed_on: date


def loan_dates(calendar: Calendar, today: date) -> LoanDates:
    """A loan whose first monthly instalment has fallen due by ``today``: disbursed on the last
    working day at least a month ago, on an application received about a week earlier."""
    month_ago = add_months(today, -1)
    disbursed_on = calendar.last_working_day(month_ago) or month_ago
    week_before = disbursed_on - timedelta(days=7)
    received_on = calendar.last_working_day(week_before) or week_before
    return LoanDates(received_on=received_on, disbursed_on=disbursed_on)
