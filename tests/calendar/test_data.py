"""The calendar the migrations load, checked date by date against a second, independent source:
the ``holidays`` package's calendar for China."""

from __future__ import annotations

from datetime import date, timedelta

import holidays

from app.calendar import loader

FIRST, LAST = 2004, 2026

# Every date on which the loaded calendar and holidays.China disagree, with the reason. The test
# fails on any other disagreement, and when one of these goes away.
KNOWN_DISAGREEMENTS = {
    date(2005, 12, 31): (
        "Saturday 31 Dec 2005 was a working day, swapped for Tue 3 Jan 2006 by the State "
        "Council's notice for 2006. chinese-calendar 1.11.0 files 2005 from the 2005 notice "
        "only and has it as a weekend (liriansu-opus/chinese-calendar#125); holidays.China has "
        "it as a weekend working day. Correct it with PUT /v1/calendar/days/2005-12-31."
    ),
}


async def _rows(conn) -> dict[date, tuple[bool, str, str | None, str | None]]:
    rows = await conn.fetch(
        """SELECT d.day, d.is_working, d.kind, d.holiday_name, d.holiday_name_zh
           FROM calendar_days d
           JOIN calendar_years y ON y.year = extract(year FROM d.day)::int AND y.published"""
    )
    return {
        r["day"]: (r["is_working"], r["kind"], r["holiday_name"], r["holiday_name_zh"])
        for r in rows
    }


class TestLoadedCalendar:
    async def test_every_date_of_every_published_year_once(self, conn):
        years = await conn.fetch("SELECT year, source FROM calendar_years WHERE published")
        assert sorted(r["year"] for r in years) == list(range(FIRST, LAST + 1))
        assert {r["source"] for r in years} == {"chinese-calendar 1.11.0"}
        rows = await _rows(conn)
        expected = (date(LAST, 12, 31) - date(FIRST, 1, 1)).days + 1
        assert len(rows) == expected
        assert min(rows) == date(FIRST, 1, 1) and max(rows) == date(LAST, 12, 31)

    async def test_kinds_fit_the_week_and_holidays_are_named(self, conn):
        for day, (working, kind, name, name_zh) in (await _rows(conn)).items():
            weekend = day.weekday() >= 5
            if kind == "workday":
                assert working and not weekend and name is None, day
            elif kind == "weekend":
                assert not working and weekend and name is None, day
            elif kind == "makeup_workday":
                assert working and weekend and name in loader.NAMES_ZH, day
                assert name_zh == loader.NAMES_ZH[name], day
            else:
                assert kind == "holiday" and not working, day
                assert name in loader.NAMES_ZH and name_zh == loader.NAMES_ZH[name], day

    async def test_chinese_names(self, conn):
        names = {
            r["holiday_name_zh"]
            for r in await conn.fetch(
                "SELECT DISTINCT holiday_name_zh FROM calendar_days WHERE kind = 'holiday'"
            )
        }
        assert names == {
            "元旦",
            "春节",
            "清明节",
            "劳动节",
            "端午节",
            "中秋节",
            "国庆节",
            "抗战胜利70周年纪念日",
        }
        special = await conn.fetchrow("SELECT * FROM calendar_days WHERE day = '2015-09-03'")
        assert special["holiday_name"] == "Anti-Fascist 70th Day"
        assert special["holiday_name_zh"] == "抗战胜利70周年纪念日"


class TestAgainstHolidaysPackage:
    async def test_disagreements_are_exactly_the_known_ones(self, conn):
        ours = await _rows(conn)
        china = holidays.China(years=range(FIRST, LAST + 1))
        weekend_workdays = set(china.weekend_workdays)
        found: dict[date, str] = {}
        day = date(FIRST, 1, 1)
        while day <= date(LAST, 12, 31):
            working, kind, _, _ = ours[day]
            theirs = china.is_working_day(day)
            if working != theirs:
                found[day] = f"working: ours {working}, holidays.China {theirs}"
            elif (kind == "makeup_workday") != (day in weekend_workdays):
                found[day] = f"make-up working day: ours {kind}, holidays.China disagrees"
            day += timedelta(days=1)
        assert set(found) == set(KNOWN_DISAGREEMENTS), found

    async def test_named_weekday_holidays_agree(self, conn):
        """Beyond working or not: every weekday off is a holiday in both sources."""
        china = holidays.China(years=range(FIRST, LAST + 1))
        for day, (working, kind, _, _) in (await _rows(conn)).items():
            if day.weekday() < 5 and not working:
                assert kind == "holiday" and day in china, day
