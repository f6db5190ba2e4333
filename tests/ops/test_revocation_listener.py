"""A revocation missed while the key listener was disconnected is not served from the cache
once the listener is back: re-subscribing clears the cache, so the next request reloads the
key (and finds it revoked) long before the cache's TTL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app import migrate
from app.core.clock import FixedClock
from app.core.db import Database, build_engine, libpq_url
from app.core.runtime import Runtime
from app.main import create_app
from tests.conftest import _issue_key, make_settings


async def _listener_pids(conn: asyncpg.Connection, database: str) -> list[int]:
    rows = await conn.fetch(
        """SELECT pid FROM pg_stat_activity
           WHERE datname = $1 AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()""",
        database,
    )
    return [r["pid"] for r in rows]


async def _wait_for_listener(conn: asyncpg.Connection, database: str, *, not_pid=None) -> int:
    for _ in range(100):
        pids = [p for p in await _listener_pids(conn, database) if p != not_pid]
        if pids:
            return pids[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the revocation listener did not subscribe")


async def test_a_revocation_missed_while_disconnected_is_not_served(scratch_database):
    url = scratch_database("listener")
    await asyncio.to_thread(migrate.upgrade, url)
    database = make_url(url).database
    settings = make_settings(key_cache_ttl_s=300.0)
    engine = build_engine(url, settings, pool_size=4)
    runtime = Runtime(
        settings=settings,
        database=Database.for_settings(engine, settings),
        clock=FixedClock(datetime.now(UTC)),
        owns_database=False,
    )
    app = create_app(settings, runtime=runtime, listen=True)
    admin_conn = await asyncpg.connect(libpq_url(url))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://ipledge.test") as http,
        ):
            async with runtime.database.connection() as db, db.transaction():
                admin = await _issue_key(db, settings, runtime.clock, "admin", None)
            first = await _wait_for_listener(admin_conn, database)
            assert (await http.get("/v1/api-keys", headers=admin)).status_code == 200  # cached

            # The listener's connection drops; meanwhile the key is revoked and the notice is
            # lost (written directly, no NOTIFY: nobody was listening to hear it).
            await admin_conn.execute("SELECT pg_terminate_backend($1)", first)
            await admin_conn.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE id = $1",
                UUID(admin["X-Key-Id"]),
            )
            await _wait_for_listener(admin_conn, database, not_pid=first)
            await asyncio.sleep(0.1)

            response = await http.get("/v1/api-keys", headers=admin)
            assert response.status_code == 401, response.text
    finally:
        await admin_conn.close()
        await runtime.database.dispose()
