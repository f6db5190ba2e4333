"""The request connection pool hands out the connection returned last (``pool_use_lifo``): a
burst of requests keeps a few connections warm (their statements prepared, their backends'
caches loaded) instead of cycling through every one. Told apart by each connection's backend
process id."""

from __future__ import annotations

from app.core.db import Database, build_engine
from tests.conftest import make_settings


async def _pid(db) -> int:
    return await db.fetchval("SELECT pg_backend_pid()")


async def test_the_connection_returned_last_is_handed_out_next(database_url):
    engine = build_engine(database_url, make_settings(), pool_size=3)
    database = Database(engine)
    try:
        # Three at once, so the pool holds three; they come back c, b, then a.
        async with (
            database.connection() as a,
            database.connection() as b,
            database.connection() as c,
        ):
            first, second, third = await _pid(a), await _pid(b), await _pid(c)
        assert len({first, second, third}) == 3
        for _ in range(3):
            async with database.connection() as again:
                assert await _pid(again) == first
        # Two at once: the last one returned first and the one before it.
        async with database.connection() as x, database.connection() as y:
            assert (await _pid(x), await _pid(y)) == (first, second)
    finally:
        await engine.dispose()
