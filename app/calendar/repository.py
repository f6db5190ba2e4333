from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from app.calendar.loader import DayRow
from app.core.db import Db

# For other reads to fold into their own statement, then pass to ``service.get_index``.
CALENDAR_REVISION_SQL = "(SELECT revision FROM calendar_state WHERE id = 1)"

# Rows of years that are not published (there should be none) are left out by the index; all
# the aggregates read the rows in the same order, so the arrays line up without a sort.
_SNAPSHOT = f"""
SELECT {CALENDAR_REVISION_SQL} AS revision,
       ARRAY(SELECT year FROM calendar_years WHERE published ORDER BY year) AS years,
       d.days, d.kinds, d.names, d.names_zh
FROM (
    SELECT array_agg(day) AS days, array_agg(kind) AS kinds,
           array_agg(holiday_name) AS names, array_agg(holiday_name_zh) AS names_zh
    FROM calendar_days
) d
"""


async def snapshot(db: Db) -> asyncpg.Record:
    """Everything an index needs, in one round trip (arrays decode much faster than rows)."""
    return await db.fetchrow(_SNAPSHOT)


async def revision(db: Db) -> int:
    value: int = await db.fetchval(f"SELECT {CALENDAR_REVISION_SQL}")
    return value


async def lock(db: Db) -> None:
    """Take the calendar's write lock without moving the revision (yet)."""
    await db.execute("SELECT 1 FROM calendar_state WHERE id = 1 FOR UPDATE")


async def bump_revision(db: Db) -> int:
    """Move the revision on. The row lock it takes also serialises calendar changes, which are
    rare enough that one at a time costs nothing."""
    return int(
        await db.fetchval(
            """UPDATE calendar_state SET revision = nextval('calendar_revision_seq')
           WHERE id = 1 RETURNING revision"""
        )
    )


_YEAR = """
SELECT y.year, y.published, y.source, y.notice, y.published_at, y.version,
       coalesce(d.holidays, '[]'::jsonb) AS holidays,
       coalesce(d.makeup_workdays, '[]'::jsonb) AS makeup_workdays
FROM calendar_years y
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('date', c.day, 'name', c.holiday_name,
                                        'name_zh', c.holiday_name_zh) ORDER BY c.day)
               FILTER (WHERE c.kind = 'holiday'
                          OR (NOT c.is_working AND extract(isodow FROM c.day) < 6))
               AS holidays,
           jsonb_agg(jsonb_build_object('date', c.day, 'name', c.holiday_name) ORDER BY c.day)
               FILTER (WHERE c.kind = 'makeup_workday') AS makeup_workdays
    FROM calendar_days c
    WHERE y.published AND c.day BETWEEN make_date(y.year, 1, 1) AND make_date(y.year, 12, 31)
) d ON true
WHERE y.year = $1
"""


async def year(db: Db, year: int) -> asyncpg.Record | None:
    return await db.fetchrow(_YEAR, year)


async def upsert_days(db: Db, rows: Sequence[DayRow], *, source: str, at: datetime) -> None:
    """Write whole years in one statement; every date is present, so this replaces them."""
    await db.execute(
        """INSERT INTO calendar_days
               (day, is_working, kind, holiday_name, holiday_name_zh, source, updated_at)
           SELECT r.day, r.kind IN ('workday', 'makeup_workday'), r.kind, r.name, r.name_zh,
                  $5, $6
           FROM unnest($1::date[], $2::text[], $3::text[], $4::text[])
                AS r(day, kind, name, name_zh)
           ON CONFLICT (day) DO UPDATE
           SET is_working = EXCLUDED.is_working, kind = EXCLUDED.kind,
               holiday_name = EXCLUDED.holiday_name, holiday_name_zh = EXCLUDED.holiday_name_zh,
               source = EXCLUDED.source, updated_at = EXCLUDED.updated_at""",
        [r.day for r in rows],
        [r.kind for r in rows],
        [r.holiday_name for r in rows],
        [r.holiday_name_zh for r in rows],
        source,
        at,
    )


async def upsert_years(
    db: Db, years: Sequence[int], *, source: str, notice: str | None, at: datetime
) -> list[asyncpg.Record]:
    return await db.fetch(
        """INSERT INTO calendar_years (year, published, source, notice, published_at, version)
           SELECT y, true, $2, $3, $4, 1 FROM unnest($1::int[]) AS y
           ON CONFLICT (year) DO UPDATE
           SET published = true, source = EXCLUDED.source, notice = EXCLUDED.notice,
               published_at = EXCLUDED.published_at, version = calendar_years.version + 1
           RETURNING year, version, published_at""",
        list(years),
        source,
        notice,
        at,
    )


async def day_in_year(db: Db, day: date) -> asyncpg.Record | None:
    """The year's publication and the day's row; None when the year has no row at all."""
    return await db.fetchrow(
        """SELECT y.published, y.version, c.kind, c.holiday_name, c.holiday_name_zh, c.source
           FROM calendar_years y LEFT JOIN calendar_days c ON c.day = $1
           WHERE y.year = $2""",
        day,
        day.year,
    )


async def correct_day(db: Db, row: DayRow, *, at: datetime) -> int:
    """Write one date and move its year's version; returns the new version."""
    version: int = await db.fetchval(
        """WITH d AS (
               INSERT INTO calendar_days
                   (day, is_working, kind, holiday_name, holiday_name_zh, source, updated_at)
               VALUES ($1, $2, $3, $4, $5, 'admin', $6)
               ON CONFLICT (day) DO UPDATE
               SET is_working = EXCLUDED.is_working, kind = EXCLUDED.kind,
                   holiday_name = EXCLUDED.holiday_name,
                   holiday_name_zh = EXCLUDED.holiday_name_zh,
                   source = EXCLUDED.source, updated_at = EXCLUDED.updated_at
           )
           UPDATE calendar_years SET version = version + 1 WHERE year = $7 RETURNING version""",
        row.day,
        row.is_working,
        row.kind,
        row.holiday_name,
        row.holiday_name_zh,
        at,
        row.day.year,
    )
    return version


async def years_state(db: Db, years: Sequence[int]) -> list[asyncpg.Record]:
    """Per year: its publication, and every stored day (for ``calendar load`` to compare)."""
    return await db.fetch(
        """SELECT w.year, coalesce(y.published, false) AS published, y.source, y.notice,
                  coalesce(d.admin_days, 0) AS admin_days,
                  d.days, d.kinds, d.names, d.names_zh
           FROM unnest($1::int[]) AS w(year)
           LEFT JOIN calendar_years y ON y.year = w.year
           LEFT JOIN LATERAL (
               SELECT count(*) FILTER (WHERE c.source = 'admin') AS admin_days,
                      array_agg(c.day ORDER BY c.day) AS days,
                      array_agg(c.kind ORDER BY c.day) AS kinds,
                      array_agg(c.holiday_name ORDER BY c.day) AS names,
                      array_agg(c.holiday_name_zh ORDER BY c.day) AS names_zh
               FROM calendar_days c
               WHERE c.day BETWEEN make_date(w.year, 1, 1) AND make_date(w.year, 12, 31)
           ) d ON true
           ORDER BY w.year""",
        list(years),
    )
