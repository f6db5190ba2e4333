"""Real ``ipledge worker`` processes on the committed test database: two sharing one backlog,
and one killed in the middle of a delivery."""

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
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import psutil
import pytest

from app.webhooks.queue import LOST_LEASE_ERROR
from app.webhooks.relay import Relay, relay_once
from tests.webhooks.conftest import emit_live, verify
from tests.webhooks.receiver import Reply

pytestmark = pytest.mark.committed

WORKER_ENV = {
    "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE": "true",
    "IPLEDGE_WORKER_POLL_INTERVAL_S": "0.05",
    "IPLEDGE_WEBHOOK_BATCH_SIZE": "10",
    "IPLEDGE_LOG_LEVEL": "INFO",
}


@contextmanager
def worker(database_url: str) -> Iterator[subprocess.Popen]:
    """``ipledge worker`` in a process of its own, started and ready (its relay is polling)."""
    log = tempfile.NamedTemporaryFile("w+b", suffix=".log")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"],
        env={**os.environ, **WORKER_ENV, "IPLEDGE_DATABASE_URL": database_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while b"worker started" not in Path(log.name).read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                output = Path(log.name).read_text()[-3000:]
                raise RuntimeError(f"the worker did not start:\n{output}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        log.close()


async def _register(live_client, make_live_key, live_endpoints, url: str, runtime=None) -> dict:
    if runtime is not None:
        # Events other tests committed while no worker ran are still undispatched; a running
        # worker would long since have dispatched them (to the endpoints of their day).
        async with Relay(runtime) as relay:
            while await relay.fan_out():
                pass
    admin = await make_live_key("admin")
    response = await live_client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": ["loan.disbursed"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    live_endpoints.append(UUID(created["id"]))
    return created


def _ports_to(pid: int, port: int) -> set[int]:
    """Local ports of the worker's open connections to the receiver."""
    return {
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port
    }


async def test_two_workers_share_a_backlog_and_send_each_event_once(
    database_url, live_client, make_live_key, live_runtime, live_endpoints, receiver
):
    hook = receiver.hook(Reply(200, delay=0.02))
    endpoint = await _register(live_client, make_live_key, live_endpoints, hook.url, live_runtime)
    receiver_port = int(hook.url.split(":")[2].split("/")[0])

    with worker(database_url) as first, worker(database_url) as second:
        ids = await emit_live(live_runtime, 400)
        await hook.wait_for(400, within=60)
        await asyncio.sleep(0.5)  # time for any second copy to arrive
        ports = {proc.pid: _ports_to(proc.pid, receiver_port) for proc in (first, second)}

    requests = hook.requests
    counts = Counter(r.webhook_id for r in requests)
    assert set(counts) == ids
    assert max(counts.values()) == 1, [i for i, n in counts.items() if n > 1][:5]
    for pid, open_ports in ports.items():
        assert any(r.client_port in open_ports for r in requests), f"worker {pid} sent nothing"
    for received in requests[:20]:
        verify(endpoint["secret"], received)
    async with live_runtime.database.connection() as db:
        summary = await db.fetchrow(
            """SELECT count(*) FILTER (WHERE status = 'delivered' AND attempts = 1) AS once,
                      count(*) AS total,
                      (SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1) AS attempts
               FROM webhook_deliveries WHERE endpoint_id = $1""",
            UUID(endpoint["id"]),
        )
    assert dict(summary) == {"once": 400, "total": 400, "attempts": 400}


async def test_a_killed_workers_delivery_is_made_later_with_the_same_id(
    database_url, live_client, make_live_key, live_runtime, live_endpoints, receiver, clock
):
    hook = receiver.hook(Reply(200, delay=120), Reply(200))
    endpoint = await _register(live_client, make_live_key, live_endpoints, hook.url, live_runtime)

    with worker(database_url) as proc:
        [event_id] = await emit_live(live_runtime, 1)
        await hook.wait_for(1, within=30)  # the worker is now waiting for the answer
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    async with live_runtime.database.connection() as db:
        cut_off = await db.fetchrow(
            "SELECT * FROM webhook_deliveries WHERE event_id = $1", UUID(event_id)
        )
    assert cut_off["status"] == "pending" and cut_off["locked_until"] is not None

    # Due, but while the dead worker's lease lasts no one else takes the delivery…
    assert cut_off["next_attempt_at"] < cut_off["locked_until"] - timedelta(seconds=1)
    clock.set(cut_off["locked_until"] - timedelta(seconds=1))
    assert await relay_once(live_runtime) == 0
    async with live_runtime.database.connection() as db:
        assert (
            await db.fetchval(
                "SELECT count(*) FROM webhook_attempts WHERE event_id = $1", UUID(event_id)
            )
            == 0
        )
    # …and once it has run out, the next pass sends the event again, under the same id.
    clock.set(cut_off["locked_until"] + timedelta(seconds=1))
    assert await relay_once(live_runtime) == 1

    first, second = hook.requests
    assert first.webhook_id == second.webhook_id == event_id
    verify(endpoint["secret"], second)
    async with live_runtime.database.connection() as db:
        delivered = await db.fetchrow(
            "SELECT * FROM webhook_deliveries WHERE event_id = $1", UUID(event_id)
        )
    assert delivered["status"] == "delivered" and delivered["lease_id"] is None
    # Both tries are on record, the interrupted one without an answer.
    async with live_runtime.database.connection() as db:
        attempts = await db.fetch(
            "SELECT * FROM webhook_attempts WHERE event_id = $1 ORDER BY id", UUID(event_id)
        )
    assert [(a["status_code"], a["error"]) for a in attempts] == [
        (None, LOST_LEASE_ERROR),
        (200, None),
    ]
    lost, made = attempts
    assert cut_off["next_attempt_at"] <= lost["attempted_at"] < cut_off["locked_until"]
    assert lost["attempted_at"] <= made["attempted_at"]
    assert delivered["attempts"] == 2
    response = await live_client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries",
        headers=await make_live_key("admin"),
    )
    assert response.status_code == 200, response.text
    listed = [(a["status_code"], a["error"]) for a in response.json()["items"]]
    assert sorted(listed, key=str) == sorted([(None, LOST_LEASE_ERROR), (200, None)], key=str)
