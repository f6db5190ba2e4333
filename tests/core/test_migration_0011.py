"""Migration 0011 on rows stored before it: subsidy programmes whose effective period reaches
outside their budget year are clamped to it (the dates they are in force on do not change),
one that lies wholly outside is refused with its id and nothing changes; and down and up
again."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app import migrate
from app.core.db import libpq_url
from app.subsidies.in_force import Period, in_force


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> str:
    url = make_url(database_url)
    scratch = f"{url.database}_migration_0011"
    admin = libpq_url(url.set(database="postgres").render_as_string(False))

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{scratch}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return url.set(database=scratch).render_as_string(False)


async def _run(url: str, work):
    conn = await asyncpg.connect(libpq_url(url))
    try:
        return await work(conn)
    finally:
        await conn.close()


def _at_0010(url: str) -> None:
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "0010")


# name -> (budget_year, effective_from, effective_to) as stored, and as 0011 leaves it.
STORED = {
    "within": (2026, date(2026, 1, 1), date(2026, 12, 31)),
    "open": (2026, date(2026, 3, 1), None),
    "starts_before": (2026, date(2025, 7, 1), date(2026, 6, 30)),
    "ends_after": (2026, date(2026, 10, 1), date(2027, 3, 31)),
    "both_sides": (2026, date(2025, 6, 1), date(2027, 6, 30)),
    "open_before": (2026, date(2025, 7, 1), None),
}
MIGRATED = {
    "within": (2026, date(2026, 1, 1), date(2026, 12, 31)),
    "open": (2026, date(2026, 3, 1), None),
    "starts_before": (2026, date(2026, 1, 1), date(2026, 6, 30)),
    "ends_after": (2026, date(2026, 10, 1), date(2026, 12, 31)),
    "both_sides": (2026, date(2026, 1, 1), date(2026, 12, 31)),
    "open_before": (2026, date(2026, 1, 1), None),
}


async def _insert_programmes(conn: asyncpg.Connection, rows: dict) -> None:
    for name, (year, start, end) in rows.items():
        await conn.execute(
            """INSERT INTO subsidy_programs (id, district_code, kind, name, share,
                   annual_budget, budget_year, effective_from, effective_to, committed,
                   created_at, version)
               VALUES ($1, '440307', 'risk_compensation', $2, 0.5, 1000000.00, $3, $4, $5, 0,
                       now(), 1)""",
            uuid.uuid4(),
            name,
            year,
            start,
            end,
        )


async def _programmes(conn: asyncpg.Connection) -> dict:
    rows = await conn.fetch(
        "SELECT name, budget_year, effective_from, effective_to FROM subsidy_programs"
    )
    return {r["name"]: (r["budget_year"], r["effective_from"], r["effective_to"]) for r in rows}


def _days_in_force(year: int, start: date, end: date | None) -> set[date]:
    period = Period(start, end, year)
    first = date(2024, 1, 1)
    return {
        first + timedelta(days=n)
        for n in range(366 * 4)
        if in_force(period, first + timedelta(days=n))
    }


def test_programmes_are_clamped_to_their_budget_year(scratch_url):
    _at_0010(scratch_url)
    asyncio.run(_run(scratch_url, lambda c: _insert_programmes(c, STORED)))
    migrate.upgrade(scratch_url, "0011")
    assert asyncio.run(_run(scratch_url, _programmes)) == MIGRATED
    for name in STORED:
        assert _days_in_force(*STORED[name]) == _days_in_force(*MIGRATED[name]), name

    async def refused(conn: asyncpg.Connection) -> None:
        with pytest.raises(asyncpg.CheckViolationError, match="in_budget_year"):
            await _insert_programmes(conn, {"bad": (2026, date(2025, 12, 1), None)})

    asyncio.run(_run(scratch_url, refused))
    # Down: the check goes, the clamped dates stay; up again: nothing more to clamp.
    migrate.downgrade(scratch_url, "0010")
    assert asyncio.run(_run(scratch_url, _programmes)) == MIGRATED
    migrate.upgrade(scratch_url)
    assert asyncio.run(_run(scratch_url, _programmes)) == MIGRATED


def test_a_programme_never_in_force_stops_the_migration(scratch_url):
    _at_0010(scratch_url)
    never = {"never": (2026, date(2027, 1, 1), date(2027, 6, 30))}
    stored = {"starts_before": STORED["starts_before"], **never}
    asyncio.run(_run(scratch_url, lambda c: _insert_programmes(c, stored)))
    never_id = asyncio.run(
        _run(
            scratch_url,
            lambda c: c.fetchval("SELECT id FROM subsidy_programs WHERE name = 'never'"),
        )
    )
    with pytest.raises(RuntimeError, match=str(never_id)):
        migrate.upgrade(scratch_url, "0011")
    # Nothing changed, not even the programme that could have been clamped.
    assert asyncio.run(_run(scratch_url, _programmes)) == stored
    revision = asyncio.run(
        _run(scratch_url, lambda c: c.fetchval("SELECT version_num FROM alembic_version"))
    )
    assert revision == "0010"
    # Corrected by the operator, it migrates.
    asyncio.run(
        _run(
            scratch_url,
            lambda c: c.execute(
                "UPDATE subsidy_programs SET budget_year = 2027 WHERE id = $1", never_id
            ),
        )
    )
    migrate.upgrade(scratch_url, "0011")
    assert asyncio.run(_run(scratch_url, _programmes)) == {
        "starts_before": MIGRATED["starts_before"],
        "never": (2027, date(2027, 1, 1), date(2027, 6, 30)),
    }
    migrate.downgrade(scratch_url, "base")
