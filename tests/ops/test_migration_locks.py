"""Migrations never queue traffic behind them: while traffic holds a lock on a table a
migration alters, the migration gives up after ``lock_timeout`` (rolling back alone) instead of
waiting with its ACCESS EXCLUSIVE request queued ahead of every later reader, and
``ipledge migrate`` tries it again once the lock is free. A request that waits too long for a
lock is answered as what it is: a 503 lock-timeout problem with Retry-After."""

from __future__ import annotations

import asyncio
import threading
import time

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from app import migrate
from app.core.db import libpq_url
from tests.conftest import problem_of
from tests.ops.conftest import app_client
from tests.ops.test_release import EXPAND, add_revision

UNKNOWN_KEY = "ipk_" + "0" * 32 + "_" + "s" * 43


async def _column_exists(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'applications' AND column_name = 'channel'"
        )
    )


@pytest.fixture
def expanded(scratch_database, migrations_copy):
    """A scratch database at head, and a next migration that adds a column to applications."""
    url = scratch_database("locks")
    migrate.upgrade(url)
    add_revision(migrations_copy, "9001", migrate.head_revision(), migrate.head_revision(), EXPAND)
    return url, migrations_copy


async def test_a_migration_blocked_by_traffic_fails_fast_and_lets_traffic_through(expanded):
    url, directory = expanded
    holder = await asyncpg.connect(libpq_url(url))
    reader = await asyncpg.connect(libpq_url(url))
    try:
        # A long report: its transaction holds ACCESS SHARE on applications.
        await holder.execute("BEGIN")
        await holder.fetchval("SELECT count(*) FROM applications")

        started = time.monotonic()
        migration = asyncio.create_task(
            asyncio.to_thread(
                migrate.upgrade, url, "9001", directory=directory, lock_timeout_ms=400
            )
        )
        await asyncio.sleep(0.15)  # the migration is now waiting for its lock
        # A request's read arrives behind the migration's lock request. Without lock_timeout
        # it would wait for the report and the migration both; here it waits at most until
        # the migration gives up.
        read_started = time.monotonic()
        await reader.fetchval("SELECT count(*) FROM applications", timeout=5)
        read_wait = time.monotonic() - read_started

        with pytest.raises(DBAPIError) as failure:
            await migration
        gave_up_after = time.monotonic() - started
        assert migrate._lock_timed_out(failure.value)
        assert gave_up_after < 3.0
        assert read_wait < 1.5

        # The failed migration rolled back: nothing half done, the version unchanged.
        assert not await _column_exists(reader)
        assert await reader.fetchval("SELECT version_num FROM alembic_version") == (
            migrate.head_revision()
        )
    finally:
        await holder.close()
        await reader.close()


async def test_the_migration_is_retried_once_the_lock_is_free(expanded):
    url, directory = expanded
    holder = await asyncpg.connect(libpq_url(url))
    try:
        await holder.execute("BEGIN")
        await holder.fetchval("SELECT count(*) FROM applications")
        released = threading.Event()

        async def release_later() -> None:
            await asyncio.sleep(1.0)
            await holder.execute("ROLLBACK")
            released.set()

        releaser = asyncio.create_task(release_later())
        attempts = await asyncio.to_thread(
            migrate.upgrade_with_retries,
            url,
            "9001",
            attempts=10,
            pause_s=0.2,
            directory=directory,
            lock_timeout_ms=300,
        )
        await releaser
        assert released.is_set()
        assert attempts >= 2  # the first gave up on the lock, a later one went through
        assert await _column_exists(holder)
        assert await holder.fetchval("SELECT version_num FROM alembic_version") == "9001"
    finally:
        await holder.close()


async def test_a_request_waiting_on_a_lock_gets_a_lock_timeout_problem(scratch_database):
    url = scratch_database("request_lock")
    await asyncio.to_thread(migrate.upgrade, url)
    holder = await asyncpg.connect(libpq_url(url))
    try:
        await holder.execute("BEGIN")
        await holder.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        async with app_client(url, db_lock_timeout_ms=300) as http:
            started = time.monotonic()
            response = await http.get(
                "/v1/api-keys", headers={"Authorization": f"Bearer {UNKNOWN_KEY}"}
            )
            waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert problem_of(response)["type"].endswith("/lock-timeout")
        assert response.headers["retry-after"]
        assert waited < 3.0
    finally:
        await holder.close()


async def test_the_operations_migration_builds_its_index_without_blocking_writes(
    scratch_database,
):
    """0013 builds an index on webhook_attempts CONCURRENTLY: while a writer's transaction is
    open the build waits for it (it must), other writers are not held up, the build gives up
    at lock_timeout, and the retry (which drops the invalid leftover first) completes."""
    url = scratch_database("index_build")
    # Named, not read off the head: later migrations come after it.
    head, previous = "0013", "0012"
    await asyncio.to_thread(migrate.upgrade, url, previous)
    holder = await asyncpg.connect(libpq_url(url))
    writer = await asyncpg.connect(libpq_url(url))
    try:
        await holder.execute("BEGIN")
        await holder.execute("LOCK TABLE webhook_attempts IN ROW EXCLUSIVE MODE")  # a writer
        migration = asyncio.create_task(
            asyncio.to_thread(migrate.upgrade, url, head, lock_timeout_ms=800)
        )
        await asyncio.sleep(0.3)  # the build is waiting for the open writer
        # Another writer gets its lock at once: the build does not queue writes behind it.
        await writer.execute("BEGIN")
        await writer.execute("LOCK TABLE webhook_attempts IN ROW EXCLUSIVE MODE NOWAIT")
        await writer.execute("ROLLBACK")
        with pytest.raises(DBAPIError) as failure:
            await migration
        assert migrate._lock_timed_out(failure.value)
        assert await writer.fetchval("SELECT version_num FROM alembic_version") == previous

        await holder.execute("ROLLBACK")
        attempts = await asyncio.to_thread(
            migrate.upgrade_with_retries, url, head, attempts=3, pause_s=0.1
        )
        assert attempts == 1
        assert await writer.fetchval("SELECT version_num FROM alembic_version") == head
        valid = await writer.fetchval(
            """SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE c.relname = 'ix_webhook_attempts_event_id_endpoint_id'"""
        )
        assert valid is True
    finally:
        await holder.close()
        await writer.close()
