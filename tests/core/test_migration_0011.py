"""Migration 0011 on rows stored before it: subsidy programmes whose effective period reaches
outside their budget year are clamped to it (the dates they are in force on do not change),
one that lies wholly outside is refused with its id and nothing changes; members of locked
pools get the pledge cells their tape showed; and down and up again."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from app import migrate
from app.core.db import libpq_url
from app.subsidies.in_force import Period, in_force


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


LOCKED_AT = datetime(2026, 2, 3, 2, 0, tzinfo=UTC)
CUT_OFF = date(2026, 1, 31)


async def _pools(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """A locked pool and an open one, a loan in each; the locked pool's loan pledges a patent
    and a utility model, each with valuations recorded before the lock and one recorded after
    it or dated after the cut-off. The foreign keys are off for this session: only the tables
    the migration reads are filled."""
    ids = {name: uuid.uuid4() for name in ("locked", "open", "locked_loan", "open_loan")}
    await conn.execute("SET session_replication_role = replica")
    for pool, state, locked_at in (("locked", "locked", LOCKED_AT), ("open", "open", None)):
        await conn.execute(
            """INSERT INTO pools (id, name, state, cut_off_date, target_balance, criteria,
                   max_obligor_share, max_industry_share, max_district_share, locked_at,
                   created_at, updated_at, version)
               VALUES ($1, $2, $3, $4, 10000000.00, '{}', 0.1, 0.4, 1, $5, now(), now(), 1)""",
            ids[pool],
            pool,
            state,
            CUT_OFF,
            locked_at,
        )
        loan, application = ids[f"{pool}_loan"], uuid.uuid4()
        ids[f"{pool}_application"] = application
        await conn.execute(
            """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
                   district_code, industry, principal, outstanding_principal, rate_bp,
                   repayment_method, term_months, disbursed_on, maturity_date, state,
                   created_at, updated_at, version)
               VALUES ($1, $2, $3, 'RM-1', '440305', 'other', 1000000.00, 1000000.00, 300,
                       'equal_principal', 12, DATE '2026-01-05', DATE '2027-01-05',
                       'active', now(), now(), 1)""",
            loan,
            application,
            uuid.uuid4(),
        )
        await conn.execute(
            """INSERT INTO pool_loans (pool_id, loan_id, enterprise_id, industry, district_code,
                   cut_off_balance, rate_bp, remaining_months, days_past_due, pledged_value,
                   added_at)
               VALUES ($1, $2, $3, 'other', '440305', 1000000.00, 300, 12, 0, 9000000.00,
                       now())""",
            ids[pool],
            loan,
            uuid.uuid4(),
        )
    before, after = LOCKED_AT - timedelta(days=1), LOCKED_AT + timedelta(minutes=1)
    assets = (
        # kind, number, registration no, [(value, valuation date, recorded at)]
        (
            "utility_model",
            "202120000001.5",
            "Y2026000002",
            [("5000000.00", date(2025, 12, 1), before), ("7000000.00", date(2026, 2, 1), before)],
        ),
        (
            "invention_patent",
            "201710601862.3",
            "Y2026000001",
            [("4000000.00", date(2026, 1, 5), before), ("9000000.00", date(2026, 1, 20), after)],
        ),
    )
    for application in (ids["locked_application"], ids["open_application"]):
        for kind, number, registration_no, valuations in assets:
            asset = uuid.uuid4()
            await conn.execute(
                """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id,
                       created_at)
                   VALUES ($1, $2, $3, 'an asset', $4, now())""",
                asset,
                kind,
                f"{number}-{application.hex[:6]}",
                uuid.uuid4(),
            )
            await conn.execute(
                """INSERT INTO pledges (id, application_id, ip_asset_id, state, registration_no,
                       registered_on, created_at, updated_at, version)
                   VALUES ($1, $2, $3, 'registered', $4, DATE '2026-01-10', now(), now(), 1)""",
                uuid.uuid4(),
                application,
                asset,
                registration_no,
            )
            for value, valued_on, recorded in valuations:
                await conn.execute(
                    """INSERT INTO ip_asset_valuations (id, ip_asset_id, value, appraiser,
                           method, valuation_date, created_at)
                       VALUES ($1, $2, $3::numeric, 'Appraiser', 'income', $4, $5)""",
                    uuid.uuid4(),
                    asset,
                    value,
                    valued_on,
                    recorded,
                )
    return ids


async def _kept_cells(conn: asyncpg.Connection) -> dict:
    rows = await conn.fetch("SELECT loan_id, pledges_at_lock FROM pool_loans")
    return {
        r["loan_id"]: None if r["pledges_at_lock"] is None else json.loads(r["pledges_at_lock"])
        for r in rows
    }


def test_locked_pools_keep_the_pledge_cells_their_tape_showed(scratch_url):
    _at_0010(scratch_url)
    ids = asyncio.run(_run(scratch_url, _pools))
    migrate.upgrade(scratch_url, "0011")
    cells = asyncio.run(_run(scratch_url, _kept_cells))
    suffix = ids["locked_application"].hex[:6]
    # Ordered by kind then number: the patent first. Its valuation recorded after the lock
    # is left out, as is the model's dated after the cut-off.
    assert cells[ids["locked_loan"]] == {
        "pledge_count": 2,
        "kinds": "invention_patent;utility_model",
        "numbers": f"201710601862.3-{suffix};202120000001.5-{suffix}",
        "registration_nos": "Y2026000001;Y2026000002",
        "valuations": "4000000.00;5000000.00",
        "valuation_dates": "2026-01-05;2025-12-01",
    }
    assert cells[ids["open_loan"]] is None
    migrate.downgrade(scratch_url, "0010")
    migrate.upgrade(scratch_url)
    assert asyncio.run(_run(scratch_url, _kept_cells)) == cells
    migrate.downgrade(scratch_url, "base")
