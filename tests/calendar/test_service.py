"""The process-wide index: reloaded when the calendar revision moves, never otherwise, and never
holding a change that has not committed."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from app.calendar import repository, service
from app.core.db import Db


async def _quietly_make_holiday(conn, day: date) -> None:
    """Change a date behind the service's back: no new revision."""
    await conn.execute(
        """UPDATE calendar_days SET kind = 'holiday', is_working = false,
                  holiday_name = 'Quiet', holiday_name_zh = NULL WHERE day = $1""",
        day,
    )


class TestGetIndex:
    async def test_the_same_revision_is_served_from_memory(self, conn):
        db = Db(conn)
        first = await service.get_index(db)
        await _quietly_make_holiday(conn, date(2026, 3, 9))
        assert await service.get_index(db, revision=first.revision) is first
        assert await service.get_index(db) is first  # checked less than a second ago
        assert first.day(date(2026, 3, 9)).kind == "workday"

    async def test_a_new_revision_reloads(self, conn):
        db = Db(conn)
        first = await service.get_index(db)
        await _quietly_make_holiday(conn, date(2026, 3, 9))
        revision = await repository.bump_revision(db)
        again = await service.get_index(db, revision=revision)
        assert again.revision == revision != first.revision
        assert again.day(date(2026, 3, 9)).kind == "holiday"
        assert await service.get_index(db, revision=revision) is again

    async def test_without_a_revision_it_is_rechecked(self, conn, monkeypatch):
        db = Db(conn)
        first = await service.get_index(db)
        monkeypatch.setattr(service, "RECHECK_S", 0.0)
        assert await service.get_index(db) is first  # revision unchanged: kept
        await repository.bump_revision(db)
        assert (await service.get_index(db)).revision != first.revision

    async def test_requests_finding_it_stale_at_once_load_it_once(self, database_url, monkeypatch):
        """Sixteen requests of a new process (nothing cached), each on a connection of its own:
        one loads the calendar, the others wait for it and share what it loaded."""
        from app.core.db import Database, build_engine
        from tests.conftest import make_settings

        engine = build_engine(database_url, make_settings(), pool_size=16)
        database = Database(engine)
        loads = 0
        load_index = service.load_index

        async def counted(db):
            nonlocal loads
            loads += 1
            return await load_index(db)

        monkeypatch.setattr(service, "load_index", counted)
        service.invalidate()

        async def request():
            async with database.connection() as db:
                return await service.get_index(db)

        try:
            indexes = await asyncio.gather(*[request() for _ in range(16)])
        finally:
            await engine.dispose()
        assert loads == 1
        assert all(index is indexes[0] for index in indexes)

    async def test_while_one_request_rechecks_the_others_are_served_at_once(
        self, conn, monkeypatch
    ):
        db = Db(conn)
        first = await service.get_index(db)
        monkeypatch.setattr(service, "RECHECK_S", 0.0)
        checking, release = asyncio.Event(), asyncio.Event()
        revision = repository.revision

        async def held(db):
            checking.set()
            await release.wait()
            return await revision(db)

        monkeypatch.setattr(repository, "revision", held)
        checker = asyncio.create_task(service.get_index(db))
        await checking.wait()
        try:
            # The check is in flight: another request neither waits for it nor checks again.
            assert await asyncio.wait_for(service.get_index(db), timeout=1) is first
            # One that names a revision other than the cached one does wait for a reload.
            waiting = asyncio.create_task(service.get_index(db, revision=first.revision + 1))
            await asyncio.sleep(0.05)
            assert not waiting.done()
        finally:
            release.set()
        assert await checker is first
        reloaded = await waiting
        assert reloaded is not first and reloaded.revision == first.revision

    async def test_nothing_loaded_during_a_change_is_kept(self, conn):
        db = Db(conn)
        with service.changing():
            await repository.bump_revision(db)
            during = await service.get_index(db)
        after = await service.get_index(db, revision=during.revision)
        assert after is not during  # loaded again: the change might not have committed

    async def test_a_rolled_back_revision_is_never_issued_again(self, conn):
        db = Db(conn)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                lost = await repository.bump_revision(db)
                raise RuntimeError("the change failed")
        assert await repository.revision(db) != lost
        assert await repository.bump_revision(db) != lost


class TestListeners:
    async def test_registered_once_and_removed(self):
        async def listener(ctx, index, years):
            return None

        assert service.on_change(listener) is listener
        service.on_change(listener)
        try:
            assert service._listeners.count(listener) == 1
        finally:
            service.remove_listener(listener)
        assert listener not in service._listeners
