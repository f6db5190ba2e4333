"""Statements of concurrent requests sent to PostgreSQL together.

A request whose whole effect is one statement (a draft's creation, a submission) need not hold
a connection of its own: it hands its statement to the batcher and awaits the row. Statements
queue by their text. Once the event loop's current pass is done (so the requests read in one
wake-up of the loop go together), and whenever a batch comes back, each free slot of
``max_inflight`` takes every queued statement of one text (up to ``max_batch``) in one round
trip: one pipelined Bind/Execute per statement and one Sync (asyncpg's ``fetchmany``), so one
transaction and one commit. Under no load a statement waits for nothing but the end of the
loop's pass; under load the round trips, the commits and the wake-ups of a backend are shared.

Each statement keeps its own meaning. Its row is found by a key the caller names (the first
parameter, returned in column ``id``), and a batch never holds two statements with the same
key, so "no row" stays "wrote nothing". A batch in which any statement fails is rolled back
whole and its statements are run again one by one, each in its own transaction, so each caller
sees exactly the outcome and the error it would have seen alone. An error of the connection
itself goes to every caller of the batch, as it would have gone to each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

# Errors of one statement (the server's, or an argument the driver could not encode), after
# which the connection is still good.
STATEMENT_ERRORS = (asyncpg.PostgresError, asyncpg.DataError)


class Totals:
    """The process's counts over all its batchers, for /metrics (only ever growing)."""

    batches = 0
    statements = 0
    replays = 0


Checkout = Callable[[], Awaitable[tuple[asyncpg.Connection, Callable[[bool], Awaitable[None]]]]]


@dataclass(slots=True)
class _Item:
    args: Sequence[Any]
    key: Any
    future: asyncio.Future[asyncpg.Record | None]


class Batcher:
    def __init__(
        self,
        checkout: Checkout,
        *,
        max_inflight: int,
        max_batch: int,
        connection_errors: tuple[type[BaseException], ...],
    ) -> None:
        self._checkout = checkout
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self._connection_errors = connection_errors
        self._queues: dict[str, deque[_Item]] = {}
        self._ready: deque[str] = deque()
        self._inflight = 0
        self._pump_soon = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Counters, for /metrics (``app.core.metrics``) and the tests.
        self.batches = 0
        self.statements = 0
        self.replays = 0

    async def fetchrow(self, sql: str, args: Sequence[Any], *, key: Any) -> asyncpg.Record | None:
        future: asyncio.Future[asyncpg.Record | None] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(sql)
        if queue is None:
            queue = self._queues[sql] = deque()
        if not queue:
            self._ready.append(sql)
        queue.append(_Item(args, key, future))
        if not self._pump_soon:
            # Sent once the loop's current pass is done, with whatever else that pass queued:
            # the requests read in one wake-up of the loop go together.
            self._pump_soon = True
            asyncio.get_running_loop().call_soon(self._pump)
        return await future

    def _pump(self) -> None:
        self._pump_soon = False
        while self._inflight < self.max_inflight and self._ready:
            sql = self._ready.popleft()
            queue = self._queues[sql]
            batch: list[_Item] = []
            keys: set[Any] = set()
            held: list[_Item] = []
            while queue and len(batch) < self.max_batch:
                item = queue.popleft()
                if item.future.done():  # its caller went away before it was sent
                    continue
                if item.key in keys:
                    held.append(item)
                    continue
                keys.add(item.key)
                batch.append(item)
            queue.extendleft(reversed(held))
            if queue:
                self._ready.append(sql)
            if not batch:
                continue
            # Sent in key order (a loan's id, an application's): rows are then locked in the
            # order every lock of many takes them (a pool's lock takes its loans by id), so a
            # batch and such a lock, or two batches, never wait for each other in a circle.
            with contextlib.suppress(TypeError):  # keys of a kind that has no order: as queued
                batch.sort(key=lambda item: item.key)
            self._inflight += 1
            task = asyncio.create_task(self._run(sql, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, sql: str, batch: list[_Item]) -> None:
        try:
            conn, release = await self._checkout()
        except BaseException as exc:
            self._fail(batch, exc)
            self._done()
            return
        discard = False
        try:
            self.batches += 1
            self.statements += len(batch)
            Totals.batches += 1
            Totals.statements += len(batch)
            if len(batch) == 1:
                await self._alone(conn, sql, batch[0])
            else:
                await self._together(conn, sql, batch)
        except self._connection_errors as exc:
            discard = True
            self._fail(batch, exc)
        except BaseException as exc:
            self._fail(batch, exc)
            raise
        finally:
            try:
                await release(discard or conn.is_closed() or conn.is_in_transaction())
            finally:
                self._done()

    def _done(self) -> None:
        """A batch is back (or never left): its slot takes what has queued meanwhile."""
        self._inflight -= 1
        self._pump()

    async def _alone(self, conn: asyncpg.Connection, sql: str, item: _Item) -> None:
        try:
            row = await conn.fetchrow(sql, *item.args)
        except STATEMENT_ERRORS as exc:
            _settle(item, exc=exc)
        else:
            _settle(item, row=row)

    async def _together(self, conn: asyncpg.Connection, sql: str, batch: list[_Item]) -> None:
        try:
            rows = await conn.fetchmany(sql, [item.args for item in batch])
        except STATEMENT_ERRORS:
            # Rolled back whole: each statement again, alone, for its own outcome.
            self.replays += 1
            Totals.replays += 1
            for item in batch:
                await self._alone(conn, sql, item)
            return
        by_key = {row["id"]: row for row in rows}
        for item in batch:
            _settle(item, row=by_key.get(item.key))

    @staticmethod
    def _fail(batch: list[_Item], exc: BaseException) -> None:
        for item in batch:
            _settle(item, exc=exc)

    async def close(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _settle(
    item: _Item, *, row: asyncpg.Record | None = None, exc: BaseException | None = None
) -> None:
    if item.future.done():
        return
    if exc is not None:
        item.future.set_exception(exc)
    else:
        item.future.set_result(row)
