"""Webhook relay: throughput to a local receiver, memory while draining a large backlog, and
what writing an event costs the request that causes it.

The relay runs as it does in production, an ``ipledge worker`` process; the receiver is a
minimal ASGI app under uvicorn. Events are seeded with one INSERT … SELECT generate_series,
committed after the worker is up, and timed from that commit until the last is delivered.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from app.core import audit, outbox
from app.core.context import OPERATOR, Ctx
from app.core.db import Db
from app.core.ids import uuid7
from bench import harness
from bench.setup import BenchSession

THROUGHPUT_EVENTS = 20_000
MEMORY_EVENTS = 100_000
TARGET_EVENTS_PER_S = 500
TARGET_MEMORY_GROWTH_MB = 50

_SEED = """
INSERT INTO outbox_events (id, type, occurred_at, district_code, data)
SELECT gen_random_uuid(), 'loan.disbursed', now(), '440307',
       jsonb_build_object('loan_id', 'L-' || g, 'principal', '1000000.00', 'rate_bp', 290)
FROM generate_series(1, $1) g
"""
_REMAINING = """
SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL)
     + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')
"""


async def _endpoint(session: BenchSession, url: str) -> None:
    """One endpoint for the seeded events; earlier runs' endpoints are switched off."""
    async with session.database.connection() as db:
        await db.execute(
            "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'bench' WHERE enabled"
        )
        await db.execute(
            """INSERT INTO webhook_endpoints (id, url, event_types, secret, enabled, created_at,
                                              updated_at, version)
               VALUES ($1, $2, ARRAY['loan.disbursed'], $3, true, now(), now(), 1)""",
            uuid7(),
            url,
            "whsec_" + "A" * 43 + "=",
        )


class _Worker:
    """``ipledge worker`` in its own process, its resident memory sampled while it runs."""

    def __init__(self, session: BenchSession) -> None:
        self.session = session
        self.log = tempfile.NamedTemporaryFile("w+b", suffix=".log")  # noqa: SIM115
        self.proc: subprocess.Popen | None = None
        self.samples: list[float] = []

    def __enter__(self) -> _Worker:
        env = {
            **os.environ,
            "IPLEDGE_DATABASE_URL": self.session.db.async_url,
            "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
            "IPLEDGE_LOG_LEVEL": "INFO",
            "IPLEDGE_WORKER_POLL_INTERVAL_S": "0.1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=harness.ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while b"worker started" not in Path(self.log.name).read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(self.log.name).read_text()[-3000:])
            time.sleep(0.05)
        time.sleep(0.5)  # its first pass, on an empty queue, is done
        self.sample()
        return self

    def sample(self) -> None:
        assert self.proc is not None
        self.samples.append(psutil.Process(self.proc.pid).memory_info().rss / 2**20)

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def _drain(session: BenchSession, worker: _Worker, events: int) -> float:
    """Seed ``events`` and wait until the worker has delivered them all; seconds taken."""
    async with session.database.connection() as db:
        started = time.perf_counter()
        await db.execute(_SEED, events)
        while True:
            await asyncio.sleep(0.25)
            worker.sample()
            if await db.fetchval(_REMAINING) == 0:
                elapsed = time.perf_counter() - started
                break
        failed = await db.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        )
        if failed:
            raise RuntimeError(f"{failed} deliveries were not delivered")
        await db.execute("ANALYZE outbox_events")
        await db.execute("ANALYZE webhook_deliveries")
    return elapsed


async def relay_throughput(session: BenchSession) -> list[dict[str, Any]]:
    with harness.server("bench.webhook_receiver:app", {}) as base:
        await _endpoint(session, base + "/hooks/bench")
        with _Worker(session) as worker:
            elapsed = await _drain(session, worker, THROUGHPUT_EVENTS)
    rate = THROUGHPUT_EVENTS / elapsed
    return [
        {
            "name": f"webhooks: relay throughput, 1 worker ({THROUGHPUT_EVENTS:,} events)",
            "figure": f"{rate:,.0f} events/s ({elapsed:.1f} s)",
            "target": f"≥ {TARGET_EVENTS_PER_S} events/s",
            "verdict": "ok" if rate >= TARGET_EVENTS_PER_S else "MISS",
        }
    ]


async def relay_memory(session: BenchSession) -> list[dict[str, Any]]:
    with harness.server("bench.webhook_receiver:app", {}) as base:
        await _endpoint(session, base + "/hooks/bench")
        with _Worker(session) as worker:
            elapsed = await _drain(session, worker, MEMORY_EVENTS)
            worker.sample()
    start, peak, end = worker.samples[0], max(worker.samples), worker.samples[-1]
    growth = peak - start
    return [
        {
            "name": f"webhooks: relay memory, {MEMORY_EVENTS:,} backlog",
            "figure": f"RSS start {start:.0f} MB, peak {peak:.0f} MB, end {end:.0f} MB "
            f"({len(worker.samples)} samples, drained in {elapsed:.0f} s, "
            f"{MEMORY_EVENTS / elapsed:,.0f} events/s)",
            "target": f"peak − start < {TARGET_MEMORY_GROWTH_MB} MB",
            "verdict": "ok" if growth < TARGET_MEMORY_GROWTH_MB else "MISS",
        }
    ]


class _CountingDb(Db):
    """The request's connection, counting the statements sent on it."""

    __slots__ = ("statements",)

    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self.statements = 0

    async def execute(self, query: Any, *args: Any) -> str:
        self.statements += 1
        return await super().execute(query, *args)

    async def fetch(self, query: Any, *args: Any) -> Any:
        self.statements += 1
        return await super().fetch(query, *args)

    async def fetchrow(self, query: Any, *args: Any) -> Any:
        self.statements += 1
        return await super().fetchrow(query, *args)

    async def fetchval(self, query: Any, *args: Any) -> Any:
        self.statements += 1
        return await super().fetchval(query, *args)


async def event_write_cost(session: BenchSession) -> list[dict[str, Any]]:
    """The unit of work's flush with one audit entry, with and without events: statements sent
    and time per flush (rolled back, so nothing is left behind)."""
    rounds = 1000
    results: dict[int, tuple[int, float]] = {}
    async with session.database.connection() as raw:
        for events in (0, 1, 5):
            db = _CountingDb(raw.conn)
            transaction = raw.conn.transaction()
            await transaction.start()
            try:
                started = time.perf_counter()
                for i in range(rounds):
                    ctx = Ctx(
                        db=db,
                        principal=OPERATOR,
                        now=datetime.now(UTC),
                        settings=session.settings,
                        request_id="bench",
                    )
                    audit.record(
                        ctx, action="loan.disbursed", entity_type="loan", entity_id=i, after={}
                    )
                    for _ in range(events):
                        outbox.emit(ctx, "loan.disbursed", {"loan_id": i}, district_code="440307")
                    await outbox.flush(ctx)
                elapsed = time.perf_counter() - started
            finally:
                await transaction.rollback()
            results[events] = (db.statements / rounds, elapsed / rounds * 1000)
    base_statements = results[0][0]
    extra = max(results[1][0], results[5][0]) - base_statements
    figure = ", ".join(
        f"{n} event{'s' if n != 1 else ''}: {s:g} statement, {ms:.2f} ms"
        for n, (s, ms) in results.items()
    )
    return [
        {
            "name": "webhooks: event write cost (flush with one audit entry)",
            "figure": figure,
            "target": "+0 statements for events",
            "verdict": "ok" if extra == 0 else "MISS",
        }
    ]
