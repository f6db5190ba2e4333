"""The statement batcher (``app.core.batch``) on a real database: statements queued while the
database is busy go together in one round trip and one transaction, and each caller still gets
exactly its own row, its own "no row" and its own error, as if its statement had gone alone.

The batches are made deterministic by a gate: the first batch's connection is held back until
the test has queued the rest, which then go as the next batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from app.core.batch import Batcher
from app.core.db import CONNECTION_ERRORS, Database, build_engine
from tests.conftest import make_settings

INSERT = """INSERT INTO {table} (id, v) SELECT $1, $2 WHERE $2 <> 13
            RETURNING id, v, txid_current() AS txid"""


class Gate:
    """A checkout that holds the first batch back until ``open()``."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.opened = asyncio.Event()
        self.holding = asyncio.Event()
        self.checkouts = 0

    async def checkout(self) -> Any:
        self.checkouts += 1
        if self.checkouts == 1:
            self.holding.set()
            await self.opened.wait()
        return await self.database._checkout()

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    engine = build_engine(database_url, make_settings(), pool_size=4)
    yield Database(engine)
    await engine.dispose()


@pytest.fixture
async def table(database: Database) -> AsyncIterator[str]:
    name = f"batch_probe_{uuid.uuid4().hex[:12]}"
    async with database.connection() as db:
        await db.execute(
            f"CREATE TABLE {name} (id uuid PRIMARY KEY, v int NOT NULL CHECK (v >= 0))"
        )
    yield name
    async with database.connection() as db:
        await db.execute(f"DROP TABLE {name}")


def _batcher(gate: Gate, *, max_inflight: int = 1, max_batch: int = 32) -> Batcher:
    batcher = Batcher(
        gate.checkout,
        max_inflight=max_inflight,
        max_batch=max_batch,
        connection_errors=CONNECTION_ERRORS,
    )
    batcher.gate = gate  # type: ignore[attr-defined]
    return batcher


async def _queued(batcher: Batcher, sql: str, argsets: list[tuple[Any, ...]]) -> list[Any]:
    """Send the first statement (held at the gate), queue the others behind it, then open."""
    gate: Gate = batcher.gate  # type: ignore[attr-defined]
    first, *rest = argsets
    tasks = [asyncio.create_task(batcher.fetchrow(sql, first, key=first[0]))]
    await gate.holding.wait()
    tasks += [asyncio.create_task(batcher.fetchrow(sql, args, key=args[0])) for args in rest]
    await asyncio.sleep(0)
    gate.open()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def _rows(database: Database, table: str) -> dict[uuid.UUID, int]:
    async with database.connection() as db:
        return {r["id"]: r["v"] for r in await db.fetch(f"SELECT id, v FROM {table}")}


async def test_statements_queued_behind_a_busy_slot_go_together_and_each_gets_its_row(
    database, table
):
    batcher = _batcher(Gate(database))
    ids = [uuid.uuid4() for _ in range(6)]
    results = await _queued(
        batcher, INSERT.format(table=table), [(i, n) for n, i in enumerate(ids)]
    )

    assert [(r["id"], r["v"]) for r in results] == [(i, n) for n, i in enumerate(ids)]
    # The first alone, the five queued behind it in one round trip: one transaction.
    assert (batcher.batches, batcher.statements, batcher.replays) == (2, 6, 0)
    assert results[0]["txid"] != results[1]["txid"]
    assert len({r["txid"] for r in results[1:]}) == 1
    assert await _rows(database, table) == {i: n for n, i in enumerate(ids)}


async def test_a_statement_that_writes_nothing_answers_no_row_to_its_own_caller_only(
    database, table
):
    batcher = _batcher(Gate(database))
    ids = [uuid.uuid4() for _ in range(4)]
    values = [1, 2, 13, 4]  # 13: the statement's condition leaves that one out
    results = await _queued(
        batcher, INSERT.format(table=table), list(zip(ids, values, strict=True))
    )

    assert results[2] is None
    assert [r["v"] for r in results if r is not None] == [1, 2, 4]
    assert batcher.batches == 2
    assert await _rows(database, table) == {ids[0]: 1, ids[1]: 2, ids[3]: 4}


async def test_a_failing_statement_fails_alone_and_the_rest_of_its_batch_commits(database, table):
    batcher = _batcher(Gate(database))
    taken = uuid.uuid4()
    async with database.connection() as db:
        await db.execute(f"INSERT INTO {table} (id, v) VALUES ($1, 99)", taken)
    ids = [uuid.uuid4(), uuid.uuid4(), taken, uuid.uuid4(), uuid.uuid4()]
    argsets: list[tuple[Any, ...]] = [(i, n) for n, i in enumerate(ids)]
    argsets[3] = (ids[3], -1)  # breaks the CHECK constraint
    results = await _queued(batcher, INSERT.format(table=table), argsets)

    assert isinstance(results[2], asyncpg.UniqueViolationError)
    assert isinstance(results[3], asyncpg.CheckViolationError)
    assert results[1]["v"] == 1 and results[4]["v"] == 4
    assert batcher.replays == 1
    # Each statement of the replayed batch committed (or failed) by itself.
    assert len({results[1]["txid"], results[4]["txid"]}) == 2
    assert await _rows(database, table) == {ids[0]: 0, ids[1]: 1, taken: 99, ids[4]: 4}


async def test_an_argument_the_driver_cannot_send_fails_only_its_own_statement(database, table):
    batcher = _batcher(Gate(database))
    ids = [uuid.uuid4() for _ in range(4)]
    argsets: list[tuple[Any, ...]] = [(i, n) for n, i in enumerate(ids)]
    argsets[2] = (ids[2], "two")  # not an integer
    results = await _queued(batcher, INSERT.format(table=table), argsets)

    assert isinstance(results[2], asyncpg.DataError)
    assert [r["v"] for n, r in enumerate(results) if n != 2] == [0, 1, 3]
    assert await _rows(database, table) == {ids[0]: 0, ids[1]: 1, ids[3]: 3}


async def test_two_statements_with_one_key_never_share_a_batch(database, table):
    """An UPDATE that finds nothing must answer "no row" to the caller whose statement it
    was: with one key twice in a batch, the row of one could not be told from the other's."""
    batcher = _batcher(Gate(database))
    row = uuid.uuid4()
    async with database.connection() as db:
        await db.execute(f"INSERT INTO {table} (id, v) VALUES ($1, 0)", row)
    bump = f"UPDATE {table} SET v = v + 1 WHERE id = $1 AND v = $2 RETURNING id, v"
    others = [uuid.uuid4() for _ in range(2)]
    insert = INSERT.format(table=table)
    # Two bumps of the same row from version 0: the first one queued wins, the other finds
    # nothing. (The insert is only there to hold the gate.)
    first = asyncio.create_task(batcher.fetchrow(insert, (others[0], 7), key=others[0]))
    gate: Gate = batcher.gate  # type: ignore[attr-defined]
    await gate.holding.wait()
    a = asyncio.create_task(batcher.fetchrow(bump, (row, 0), key=row))
    b = asyncio.create_task(batcher.fetchrow(bump, (row, 0), key=row))
    await asyncio.sleep(0)
    gate.open()
    results = await asyncio.gather(first, a, b)

    assert results[1]["v"] == 1 and results[2] is None
    assert batcher.batches == 3
    assert (await _rows(database, table))[row] == 1


async def test_a_batch_holds_at_most_max_batch_statements(database, table):
    batcher = _batcher(Gate(database), max_batch=3)
    ids = [uuid.uuid4() for _ in range(8)]
    results = await _queued(batcher, INSERT.format(table=table), [(i, 1) for i in ids])

    assert all(r["v"] == 1 for r in results)
    # One held at the gate, then seven queued: 3 + 3 + 1.
    assert (batcher.batches, batcher.statements) == (4, 8)


async def test_a_caller_that_went_away_before_its_batch_left_sends_nothing(database, table):
    batcher = _batcher(Gate(database))
    ids = [uuid.uuid4() for _ in range(3)]
    insert = INSERT.format(table=table)
    gate: Gate = batcher.gate  # type: ignore[attr-defined]
    first = asyncio.create_task(batcher.fetchrow(insert, (ids[0], 0), key=ids[0]))
    await gate.holding.wait()
    gone = asyncio.create_task(batcher.fetchrow(insert, (ids[1], 1), key=ids[1]))
    kept = asyncio.create_task(batcher.fetchrow(insert, (ids[2], 2), key=ids[2]))
    await asyncio.sleep(0)
    gone.cancel()
    gate.open()
    await asyncio.gather(first, kept)

    assert gone.cancelled()
    assert batcher.statements == 2
    assert await _rows(database, table) == {ids[0]: 0, ids[2]: 2}


async def test_a_lost_connection_fails_every_statement_of_its_batch_and_is_discarded(
    database, table
):
    """The backend is terminated while the batch waits on a lock: every caller of the batch
    gets the connection's error (the API answers 503), nothing of it is written, and the pool
    does not hand that connection out again."""
    batcher = _batcher(Gate(database))
    blocker = uuid.uuid4()
    insert = INSERT.format(table=table)
    async with database.connection() as holder:
        await holder.execute("BEGIN")
        await holder.execute(f"INSERT INTO {table} (id, v) VALUES ($1, 0)", blocker)
        alone = uuid.uuid4()
        first = asyncio.create_task(batcher.fetchrow(insert, (alone, 1), key=alone))
        gate: Gate = batcher.gate  # type: ignore[attr-defined]
        await gate.holding.wait()
        others = [uuid.uuid4(), blocker]  # the second waits for the holder's insert
        queued = [asyncio.create_task(batcher.fetchrow(insert, (i, 2), key=i)) for i in others]
        await asyncio.sleep(0)
        gate.open()
        await first
        while True:  # the batch is waiting on the holder's lock
            waiting = await holder.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
                f"%{table}%",
            )
            if waiting is not None:
                break
            await asyncio.sleep(0.01)
        await holder.fetchval("SELECT pg_terminate_backend($1)", waiting)
        results = await asyncio.gather(*queued, return_exceptions=True)
        await holder.execute("ROLLBACK")

    assert all(isinstance(r, CONNECTION_ERRORS) for r in results), results
    assert set(await _rows(database, table)) == {first.result()["id"]}
    async with database.connection() as db:
        assert await db.fetchval("SELECT pg_backend_pid()") != waiting


# --- the request's side: ``Database.lazy_connection`` ----------------------------------------


async def test_requests_never_hold_a_connection_while_their_statement_waits_in_the_queue(
    database_url, table
):
    """Sixteen requests on a pool of two, each reading something first (a connection of its
    own) and then sending its write through the batcher: had a request kept its connection
    while its write waited, the two connections would be held by waiting requests and the
    batcher could never get one."""
    engine = build_engine(database_url, make_settings(db_pool_timeout_s=3), pool_size=2)
    database = Database(engine, batch_inflight=1)
    insert = INSERT.format(table=table)

    async def request(n: int) -> Any:
        async with database.lazy_connection() as db:
            assert await db.fetchval("SELECT $1::int", n) == n
            key = uuid.uuid4()
            return await db.fetchrow_keyed(insert, key, 100 + n)

    try:
        rows = await asyncio.wait_for(asyncio.gather(*[request(n) for n in range(16)]), 20)
        assert sorted(r["v"] for r in rows) == list(range(100, 116))
        assert database.batcher.statements == 16
    finally:
        await database.dispose()


async def test_a_lazy_connection_is_held_for_a_transaction_and_its_writes_go_direct(
    database_url, table
):
    engine = build_engine(database_url, make_settings(), pool_size=2)
    database = Database(engine, batch_inflight=1)
    insert = INSERT.format(table=table)
    try:
        async with database.lazy_connection() as db:
            assert db.conn is None
            await db.fetchval("SELECT 1")
            assert db.conn is None  # given back after the statement
            key = uuid.uuid4()
            async with db.transaction():
                held = db.conn
                assert held is not None and db.in_transaction()
                row = await db.fetchrow_keyed(insert, key, 5)
                assert db.conn is held
                await db.execute(f"UPDATE {table} SET v = 6 WHERE id = $1", key)
            assert db.conn is None
        assert row["v"] == 5
        assert database.batcher.statements == 0  # inside the transaction, on its connection
        assert (await _rows(database, table))[key] == 6
    finally:
        await database.dispose()


async def test_metrics_count_the_batchers_round_trips_statements_and_replays(database, table):
    """``/metrics`` sums every batcher of the process: statements ÷ batches is the mean batch
    size an operator watches, replays how often a failing statement cost its batch a rerun."""
    from app.core import metrics

    def scraped() -> dict[str, float]:
        lines = metrics.render().decode().splitlines()
        wanted = (
            "ipledge_db_batches_total",
            "ipledge_db_batched_statements_total",
            "ipledge_db_batch_replays_total",
        )
        return {
            name: float(value)
            for name, value in (line.split(" ") for line in lines if line.startswith(wanted))
        }

    before = scraped()
    batcher = _batcher(Gate(database))
    taken = uuid.uuid4()
    async with database.connection() as db:
        await db.execute(f"INSERT INTO {table} (id, v) VALUES ($1, 1)", taken)
    argsets = [(uuid.uuid4(), 1), (uuid.uuid4(), 2), (taken, 3), (uuid.uuid4(), 4)]
    await _queued(batcher, INSERT.format(table=table), argsets)
    after = scraped()

    assert after["ipledge_db_batches_total"] - before["ipledge_db_batches_total"] == 2
    assert (
        after["ipledge_db_batched_statements_total"] - before["ipledge_db_batched_statements_total"]
    ) == 4
    assert after["ipledge_db_batch_replays_total"] - before["ipledge_db_batch_replays_total"] == 1


async def test_statements_queued_in_one_pass_of_the_loop_go_together(database, table):
    """With every slot free, what the requests of one wake-up of the loop queue (here five
    tasks started together) still goes as one batch: the batcher sends once the pass is
    done, rather than each statement alone the moment it arrives."""
    batcher = Batcher(
        database._checkout, max_inflight=3, max_batch=32, connection_errors=CONNECTION_ERRORS
    )
    ids = [uuid.uuid4() for _ in range(5)]
    insert = INSERT.format(table=table)
    rows = await asyncio.gather(*[batcher.fetchrow(insert, (i, 1), key=i) for i in ids])

    assert [r["id"] for r in rows] == ids
    assert (batcher.batches, batcher.statements) == (1, 5)
    assert len({r["txid"] for r in rows}) == 1


async def test_a_batch_writes_its_rows_in_key_order(database, table):
    """A pool's lock takes its loans in id order; a batch of postings taking them in the order
    they arrived could hold one the lock needs while waiting for one the lock holds: a
    deadlock, whose victim is the lock (it waited first). Sent in key order, it cannot be."""
    sequence = f"{table}_order"
    async with database.connection() as db:
        await db.execute(f"CREATE SEQUENCE {sequence}")
    try:
        batcher = _batcher(Gate(database))
        ids = sorted((uuid.uuid4() for _ in range(6)), reverse=True)  # queued highest first
        sql = f"""INSERT INTO {table} (id, v) SELECT $1, nextval('{sequence}') + $2 * 0
                  RETURNING id, v"""
        results = await _queued(batcher, sql, [(i, 0) for i in ids])
        written = {r["id"]: r["v"] for r in results}
        behind = ids[1:]  # the first went alone, the rest together
        assert [written[i] for i in sorted(behind)] == sorted(written[i] for i in behind)
    finally:
        async with database.connection() as db:
            await db.execute(f"DROP SEQUENCE {sequence}")
