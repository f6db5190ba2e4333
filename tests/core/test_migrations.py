"""Migrations: upgrade, downgrade to nothing, upgrade again, on an empty database; and the
models and the migrated schema agree (autogenerate finds nothing to do)."""

import asyncio

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
