"""Migrations: upgrade, downgrade to nothing, upgrade again, on an empty database; and the
models and the migrated schema agree (autogenerate finds nothing to do); and migrations that
fill a new column from existing rows fill it right."""

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrate
from app.core.db import async_url, libpq_url
from app.models import Base


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> str:
    url = make_url(database_url)
    scratch = f"{url.database}_migrations"
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


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade(scratch_url):
    migrate.upgrade(scratch_url)
    tables = asyncio.run(_tables(scratch_url))
    assert {"api_keys", "audit_events", "outbox_events", "idempotency_records"} <= tables
    migrate.downgrade(scratch_url, "base")
    assert asyncio.run(_tables(scratch_url)) <= {"alembic_version"}
    migrate.upgrade(scratch_url)
    assert asyncio.run(_tables(scratch_url)) == tables


def test_models_match_migrations(scratch_url):
    migrate.upgrade(scratch_url)

    async def diff() -> list:
        async_engine = create_async_engine(async_url(scratch_url))
        try:
            async with async_engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                    )
                )
        finally:
            await async_engine.dispose()

    assert asyncio.run(diff()) == []


def test_one_head():
    assert migrate.head_revision()


async def _loans_with_repayments(url: str) -> dict[str, uuid.UUID]:
    """Three loans at revision 0007: one repaid twice (the later posting inserted first), one
    repaid once, one never repaid. Only the two tables the backfill reads are filled, so the
    foreign keys to applications and enterprises are switched off for this session."""
    conn = await asyncpg.connect(libpq_url(url))
    loans = {name: uuid.uuid4() for name in ("twice", "once", "never")}
    try:
        await conn.execute("SET session_replication_role = replica")
        for loan_id in loans.values():
            await conn.execute(
                """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
                       district_code, industry, principal, outstanding_principal, rate_bp,
                       repayment_method, term_months, disbursed_on, maturity_date, state,
                       created_at, updated_at, version)
                   VALUES ($1, $2, $3, 'RM-1', '440305', 'I65', 1000000.00, 900000.00, 300,
                           'equal_principal', 12, DATE '2026-01-05', DATE '2027-01-05',
                           'active', now(), now(), 1)""",
                loan_id,
                uuid.uuid4(),
                uuid.uuid4(),
            )
        for loan, paid_on in (
            ("twice", date(2026, 3, 5)),
            ("twice", date(2026, 2, 5)),
            ("once", date(2026, 2, 9)),
        ):
            await conn.execute(
                """INSERT INTO loan_repayments (id, loan_id, paid_on, amount, principal_paid,
                       interest_paid, allocation, created_at)
                   VALUES ($1, $2, $3, 100.00, 100.00, 0.00, '[]', now())""",
                uuid.uuid4(),
                loans[loan],
                paid_on,
            )
    finally:
        await conn.close()
    return loans


async def _last_paid_on(url: str) -> dict[uuid.UUID, date | None]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = await conn.fetch("SELECT id, last_paid_on FROM loans")
        return {r["id"]: r["last_paid_on"] for r in rows}
    finally:
        await conn.close()


def test_0008_backfills_the_latest_repayment_date(scratch_url):
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0007")
    loans = asyncio.run(_loans_with_repayments(scratch_url))
    migrate.upgrade(scratch_url, "0008")
    expected = {
        loans["twice"]: date(2026, 3, 5),
        loans["once"]: date(2026, 2, 9),
        loans["never"]: None,
    }
    assert asyncio.run(_last_paid_on(scratch_url)) == expected
    # Down and up again: the column is dropped and filled afresh from the repayments.
    migrate.downgrade(scratch_url, "0007")
    migrate.upgrade(scratch_url)
    assert asyncio.run(_last_paid_on(scratch_url)) == expected
    migrate.downgrade(scratch_url, "base")
