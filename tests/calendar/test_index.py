"""Working-day arithmetic on the in-memory index: the SPEC's examples, the 2026 holidays, years
that are not published, and properties that hold for every date and every N."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.calendar.errors import CalendarYearUnpublished
from app.calendar.index import CalendarIndex
from tests.calendar.conftest import package_index

D = date


class TestSpecExamples:
    @pytest.mark.parametrize(
        "start,n,expected",
        [
            # Sat 14 Feb is a make-up working day; 15–23 Feb are the Spring Festival.
            (D(2026, 2, 13), 3, D(2026, 2, 25)),
            (D(2026, 3, 7), 3, D(2026, 3, 11)),
            # 1–7 Oct are National Day; Sat 10 Oct is a make-up working day.
            (D(2026, 9, 30), 3, D(2026, 10, 10)),
        ],
    )
    def test_examples(self, index, start, n, expected):
        assert index.add_working_days(start, n) == expected


class TestDeadlines2026:
    @pytest.mark.parametrize(
        "start,n,expected",
        [
            # Spring Festival, for the three tiers.
            (D(2026, 2, 13), 5, D(2026, 2, 27)),
            (D(2026, 2, 13), 10, D(2026, 3, 5)),  # Sat 28 Feb is worked too
            (D(2026, 2, 18), 3, D(2026, 2, 26)),  # received during the holiday
            (D(2026, 2, 14), 3, D(2026, 2, 26)),  # received on the make-up Saturday
            # Labour Day: 1–5 May off, Sat 9 May worked.
            (D(2026, 4, 30), 3, D(2026, 5, 8)),
            (D(2026, 5, 1), 3, D(2026, 5, 8)),  # received on the holiday itself
            (D(2026, 5, 7), 3, D(2026, 5, 11)),  # runs through the make-up Saturday
            # National Day.
            (D(2026, 9, 30), 5, D(2026, 10, 13)),
            (D(2026, 9, 30), 10, D(2026, 10, 20)),
            (D(2026, 10, 3), 3, D(2026, 10, 10)),  # received on a Saturday of the holiday
            # Across a year end: 1–3 Jan off, Sun 4 Jan 2026 worked.
            (D(2025, 12, 30), 3, D(2026, 1, 5)),
        ],
    )
    def test_deadline(self, index, start, n, expected):
        assert index.add_working_days(start, n) == expected

    def test_zero_days_is_the_start_even_on_a_holiday(self, index):
        assert index.add_working_days(D(2026, 10, 1), 0) == D(2026, 10, 1)
        assert index.add_working_days(D(2030, 1, 1), 0) == D(2030, 1, 1)

    def test_negative_n_is_refused(self, index):
        with pytest.raises(ValueError):
            index.add_working_days(D(2026, 1, 5), -1)

    def test_day_info(self, index):
        makeup = index.day(D(2026, 2, 14))
        assert makeup is not None and makeup.is_working and makeup.kind == "makeup_workday"
        assert (makeup.holiday_name, makeup.holiday_name_zh) == ("Spring Festival", "春节")
        holiday = index.day(D(2026, 10, 1))
        assert holiday is not None and not holiday.is_working
        assert (holiday.kind, holiday.holiday_name_zh) == ("holiday", "国庆节")
        assert index.day(D(2026, 3, 7)).kind == "weekend"
        assert index.day(D(2026, 3, 9)).kind == "workday"
        assert index.day(D(2027, 1, 4)) is None
        assert index.is_published(2026) and not index.is_published(2027)
        assert not index.is_published(2003)

    def test_a_working_year(self, index):
        assert index.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


class TestUnpublishedYears:
    def test_running_into_2027_names_2027(self, index):
        with pytest.raises(CalendarYearUnpublished) as raised:
            index.add_working_days(D(2026, 12, 28), 5)
        assert raised.value.year == 2027
        assert raised.value.extensions == {"year": 2027}
        assert raised.value.status == 409

    def test_inside_the_last_published_year_is_fine(self, index):
        assert index.add_working_days(D(2026, 12, 28), 3) == D(2026, 12, 31)

    def test_start_in_an_unpublished_year_before_the_first(self, index):
        # Only (start, result] must be published: 2004 holds all of it.
        assert index.add_working_days(D(2003, 12, 31), 1) == D(2004, 1, 2)
        with pytest.raises(CalendarYearUnpublished) as raised:
            index.add_working_days(D(2003, 12, 30), 1)
        assert raised.value.year == 2003

    def test_a_gap_between_published_years(self):
        gap = package_index(without={2015})
        with pytest.raises(CalendarYearUnpublished) as raised:
            gap.add_working_days(D(2014, 12, 30), 3)
        assert raised.value.year == 2015
        with pytest.raises(CalendarYearUnpublished):
            gap.add_working_days(D(2015, 6, 1), 1)
        with pytest.raises(CalendarYearUnpublished):
            gap.working_days_between(D(2014, 12, 1), D(2016, 1, 10))
        # From the last day of the gap everything needed is in 2016.
        assert gap.add_working_days(D(2015, 12, 31), 1) == D(2016, 1, 4)

    def test_nothing_published(self):
        empty = CalendarIndex(revision=0, published_years=[], days=[])
        with pytest.raises(CalendarYearUnpublished) as raised:
            empty.add_working_days(D(2026, 5, 1), 1)
        assert raised.value.year == 2026
        assert empty.working_days_between(D(2026, 5, 1), D(2026, 5, 1)) == 0

    def test_the_end_of_time(self, index):
        with pytest.raises(CalendarYearUnpublished) as raised:
            index.add_working_days(date.max, 1)
        assert raised.value.year == 10000

    def test_working_days_between_names_the_first_missing_year(self, index):
        with pytest.raises(CalendarYearUnpublished) as raised:
            index.working_days_between(D(2026, 6, 1), D(2028, 1, 1))
        assert raised.value.year == 2027
        assert index.working_days_between(D(2026, 6, 1), D(2026, 6, 1)) == 0
        assert index.working_days_between(D(2028, 1, 1), D(2026, 6, 1)) == 0


class TestImmutable:
    def test_cannot_be_changed(self, index):
        with pytest.raises(AttributeError):
            index.revision = 5
        with pytest.raises(TypeError):
            index._days[1] = None


# --- properties -----------------------------------------------------------------------------

INDEX = package_index()
GAP = package_index(without={2010, 2015, 2016})
dates = st.dates(min_value=D(2003, 11, 1), max_value=D(2027, 2, 1))
counts = st.integers(min_value=0, max_value=1000)


def walk(index: CalendarIndex, start: date, n: int) -> date | int:
    """The definition, one day at a time: the n-th working day after start, or the year of the
    first unpublished date met on the way."""
    day, found = start, 0
    while found < n:
        day += timedelta(days=1)
        info = index.day(day)
        if info is None:
            return day.year
        found += info.is_working
    return day


def add(index: CalendarIndex, start: date, n: int) -> date | int:
    try:
        return index.add_working_days(start, n)
    except CalendarYearUnpublished as exc:
        return exc.year


@pytest.mark.parametrize("idx", [INDEX, GAP], ids=["published", "with-gaps"])
class TestProperties:
    @given(start=dates, n=counts)
    def test_matches_the_definition(self, idx, start, n):
        assert add(idx, start, n) == walk(idx, start, n)

    @given(start=dates, n=st.integers(min_value=1, max_value=1000))
    def test_result_is_a_working_day_strictly_after_with_exactly_n_before_it(self, idx, start, n):
        result = add(idx, start, n)
        if isinstance(result, int):
            return
        assert result > start
        assert idx.day(result).is_working
        assert idx.working_days_between(start, result) == n
        assert idx.working_days_between(start, result - timedelta(days=1)) == n - 1

    @given(start=dates, a=counts, b=counts)
    def test_adding_in_two_steps_is_adding_once(self, idx, start, a, b):
        whole = add(idx, start, a + b)
        first = add(idx, start, a)
        if isinstance(whole, date):
            assert isinstance(first, date)
            assert add(idx, first, b) == whole
        elif isinstance(first, date):
            assert add(idx, first, b) == whole  # the same missing year
        else:
            assert first == whole

    @given(start=dates, n1=counts, n2=counts)
    def test_monotonic_in_n(self, idx, start, n1, n2):
        n1, n2 = sorted((n1, n2))
        low, high = add(idx, start, n1), add(idx, start, n2)
        if isinstance(high, date):
            assert isinstance(low, date)
            assert low <= high and (low < high or n1 == n2)

    @given(d1=dates, d2=dates, n=counts)
    def test_monotonic_in_start(self, idx, d1, d2, n):
        d1, d2 = sorted((d1, d2))
        early, late = add(idx, d1, n), add(idx, d2, n)
        if isinstance(early, date) and isinstance(late, date):
            assert early <= late

    @given(start=dates, end=dates)
    def test_working_days_between_inverts_adding(self, idx, start, end):
        try:
            k = idx.working_days_between(start, end)
        except CalendarYearUnpublished as exc:
            assert walk(idx, start, (end - start).days + 1) == exc.year
            return
        if end <= start:
            assert k == 0
            return
        # The k-th working day is on or before end; the one after it is not.
        assert add(idx, start, k) <= end
        following = add(idx, start, k + 1)
        assert isinstance(following, int) or following > end
