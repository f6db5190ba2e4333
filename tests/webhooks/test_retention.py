"""Retention of webhook history and stored idempotent responses: what is past its window goes,
in bounded batches; a delivery still pending, its event, and everything recent stay; the
audit trail is never touched."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from app.ops import retention
from app.webhooks.relay import relay_once
from tests.conftest import make_settings
from tests.webhooks.receiver import Reply


def id_at(moment) -> UUID:
    """A UUIDv7 made at ``moment`` (the relay's ids carry their time)."""
    ms = int(moment.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big") & ((1 << 76) - 1)
    return UUID(int=(ms << 80) | (0x7 << 76) | rand)


async def _write_events(conn, moment, event_type: str, count: int) -> list[UUID]:
    ids = [id_at(moment) for _ in range(count)]
    for event_id in ids:
        await conn.execute(
            """INSERT INTO outbox_events (id, type, occurred_at, data)
               VALUES ($1, $2, $3, '{}'::jsonb)""",
            event_id,
            event_type,
            moment,
        )
    return ids


async def _kept(conn, ids: list[UUID]) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM outbox_events WHERE id = ANY($1)) AS events,
                  (SELECT count(*) FROM webhook_deliveries WHERE event_id = ANY($1)) AS deliveries,
                  (SELECT count(*) FROM webhook_attempts WHERE event_id = ANY($1)) AS attempts""",
        ids,
    )
    return row["events"], row["deliveries"], row["attempts"]


async def test_webhook_history_past_its_window_goes_in_batches(
    runtime, clock, conn, receiver, register
):
    ok, failing = receiver.hook(), receiver.hook(Reply(500))
    await register(ok.url, ["loan.disbursed"])
    await register(failing.url, ["loan.defaulted"])
    now = clock.now()
    long_ago = now - timedelta(days=40)

    # Forty days ago: five events delivered, two whose endpoint keeps failing (still pending).
    clock.set(long_ago)
    delivered_old = await _write_events(conn, long_ago, "loan.disbursed", 5)
    pending_old = await _write_events(conn, long_ago, "loan.defaulted", 2)
    assert await relay_once(runtime) == 7
    # Today: two delivered.
    clock.set(now)
    recent = await _write_events(conn, now, "loan.disbursed", 2)
    assert await relay_once(runtime) >= 2
    audit_before = await conn.fetchval("SELECT count(*) FROM audit_events")

    settings = make_settings(
        retention_batch_size=2,  # several statements for five rows
        retention_webhook_attempts_days=30,
        retention_webhook_deliveries_days=30,
        retention_webhook_events_days=35,
    )
    purged = await retention.purge_webhook_history(replace(runtime, settings=settings))

    assert purged is not None
    assert await _kept(conn, delivered_old) == (0, 0, 0)
    # Still pending: the deliveries and their events stay. Their attempts of forty days ago
    # are gone; today's retry of each (the second relay pass) stays.
    assert await _kept(conn, pending_old) == (2, 2, 2)
    oldest = await conn.fetchval(
        "SELECT min(attempted_at) FROM webhook_attempts WHERE event_id = ANY($1)", pending_old
    )
    assert oldest == now
    assert await _kept(conn, recent) == (2, 2, 2)
    assert purged.deliveries >= 5 and purged.events >= 5 and purged.attempts >= 2
    assert await conn.fetchval("SELECT count(*) FROM audit_events") == audit_before


async def test_nothing_goes_when_the_windows_are_unset(runtime, clock, conn, receiver, register):
    ok = receiver.hook()
    await register(ok.url, ["loan.disbursed"])
    long_ago = clock.now() - timedelta(days=400)
    clock.set(long_ago)
    ids = await _write_events(conn, long_ago, "loan.disbursed", 3)
    assert await relay_once(runtime) == 3
    settings = make_settings(
        retention_webhook_attempts_days=None,
        retention_webhook_deliveries_days=None,
        retention_webhook_events_days=None,
    )
    assert await retention.purge_webhook_history(replace(runtime, settings=settings)) is None
    assert await _kept(conn, ids) == (3, 3, 3)


async def test_idempotency_records_past_the_replay_window_go_in_batches(runtime, clock, conn):
    for key, age_hours in [("a", 30), ("b", 26), ("c", 25), ("d", 48), ("e", 100), ("f", 1)]:
        await conn.execute(
            """INSERT INTO idempotency_records
               (api_key_id, idempotency_key, request_hash, status_code, headers, body, created_at)
               VALUES (gen_random_uuid(), $1, '\\x00', 201, '{}', '', $2)""",
            f"retention-{key}",
            clock.now() - timedelta(hours=age_hours),
        )
    settings = make_settings(retention_batch_size=2, idempotency_ttl_hours=24)
    assert await retention.purge_idempotency_records(replace(runtime, settings=settings)) >= 5
    left = await conn.fetch(
        "SELECT idempotency_key FROM idempotency_records WHERE idempotency_key LIKE 'retention-%'"
    )
    assert [r["idempotency_key"] for r in left] == ["retention-f"]
