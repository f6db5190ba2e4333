"""A worker stopped with SIGTERM in the middle of a batch, and started again, sends every
event exactly once: at SIGTERM it claims nothing more, lets the requests in flight finish,
records their answers, and gives back the deliveries it claimed but never sent, which the
next worker sends at once (not a lease's length later, and not twice).

Real ``ipledge worker`` processes, a real signal, and a slow receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from tests.webhooks.conftest import emit_live
from tests.webhooks.receiver import Reply
from tests.webhooks.test_workers import _register

pytestmark = pytest.mark.committed

EVENTS = 40
RECEIVER_DELAY_S = 1.0
ENV = {
    "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE": "true",
    "IPLEDGE_WORKER_POLL_INTERVAL_S": "0.05",
    # A batch of 20 over 4 lanes: five rounds of a one-second answer, about 5 s a batch.
    "IPLEDGE_WEBHOOK_BATCH_SIZE": "20",
    "IPLEDGE_WEBHOOK_CONCURRENCY": "4",
    "IPLEDGE_WEBHOOK_TIMEOUT_S": "5",
    # Shorter than a batch on purpose: the relay's own grace (one batch) must win.
    "IPLEDGE_WORKER_SHUTDOWN_GRACE_S": "0.5",
    "IPLEDGE_SLA_SWEEP_INTERVAL_S": "3600",
    "IPLEDGE_LOG_LEVEL": "INFO",
}


@contextmanager
def worker(database_url: str) -> Iterator[tuple[subprocess.Popen, Path]]:
    log = tempfile.NamedTemporaryFile("w+b", suffix=".log")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPLEDGE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        env={**env, **ENV, "IPLEDGE_DATABASE_URL": database_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while b"worker started" not in Path(log.name).read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.05)
        yield proc, Path(log.name)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        log.close()


async def _deliveries(runtime, endpoint_id: UUID) -> list[dict]:
    async with runtime.database.connection() as db:
        rows = await db.fetch(
            """SELECT d.status, d.attempts, d.lease_id,
                      (SELECT count(*) FROM webhook_attempts a
                       WHERE a.event_id = d.event_id AND a.endpoint_id = d.endpoint_id)
                          AS recorded,
                      (SELECT min(status_code) FROM webhook_attempts a
                       WHERE a.event_id = d.event_id AND a.endpoint_id = d.endpoint_id)
                          AS status_code
               FROM webhook_deliveries d WHERE d.endpoint_id = $1""",
            endpoint_id,
        )
    return [dict(r) for r in rows]


async def test_sigterm_mid_batch_then_restart_sends_every_event_once(
    database_url, live_client, make_live_key, live_runtime, live_endpoints, receiver
):
    hook = receiver.hook(Reply(200, delay=RECEIVER_DELAY_S))
    endpoint = await _register(live_client, make_live_key, live_endpoints, hook.url, live_runtime)
    endpoint_id = UUID(endpoint["id"])

    with worker(database_url) as (proc, log):
        ids = await emit_live(live_runtime, EVENTS)
        await hook.wait_for(6, within=30)  # the second lane round of the first batch
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.to_thread(proc.wait, 30)
        stopped_after = time.monotonic() - signalled
        output = log.read_text()
    assert proc.returncode == 0, output
    # It waited for the requests in flight (one receiver delay), not for the whole batch.
    assert stopped_after < 4 * RECEIVER_DELAY_S, output
    sent_before_restart = len(hook.requests)
    assert sent_before_restart < EVENTS  # it stopped claiming and sending

    rows = await _deliveries(live_runtime, endpoint_id)
    assert all(r["lease_id"] is None for r in rows), "a lease was left behind"
    delivered = [r for r in rows if r["status"] == "delivered"]
    # Every request the receiver got was answered and recorded as answered.
    assert len(delivered) == sent_before_restart
    assert all(r["recorded"] == 1 and r["status_code"] == 200 for r in delivered)
    # What was claimed but never sent was given back untouched: no attempt on record.
    assert all(r["attempts"] == 0 and r["recorded"] == 0 for r in rows if r["status"] == "pending")

    with worker(database_url):
        await hook.wait_for(EVENTS, within=60)
        await asyncio.sleep(1.5)  # time for any second copy to arrive

    counts = Counter(r.webhook_id for r in hook.requests)
    assert set(counts) == ids
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:5]
    rows = await _deliveries(live_runtime, endpoint_id)
    assert len(rows) == EVENTS
    assert all(r["status"] == "delivered" and r["attempts"] == 1 for r in rows)
    assert all(r["recorded"] == 1 and r["status_code"] == 200 for r in rows)
