"""A worker whose lease ran out and was taken back by another worker: its attempt is on record
once (as lost, by the worker that took it back), never twice, and it moves nothing on."""

from datetime import timedelta
from uuid import uuid4

from app.core.db import Db
from app.webhooks import queue


async def test_a_late_answer_after_the_lease_was_taken_back_is_not_recorded_twice(
    runtime, clock, conn, receiver, register, emit
):
    hook = receiver.hook()
    await register(hook.url)
    event_id = await emit()
    db = Db(conn)
    now = clock.now()
    await queue.fan_out(db, now=now, limit=100)
    slow, other = uuid4(), uuid4()
    first = await queue.claim(
        db, now=now, limit=100, lease_until=now + timedelta(seconds=30), lease_id=slow
    )
    assert [c.event_id for c in first] == [event_id]
    later = now + timedelta(seconds=31)
    again = await queue.claim(
        db, now=later, limit=100, lease_until=later + timedelta(seconds=30), lease_id=other
    )
    assert [c.event_id for c in again] == [event_id]
    # The slow worker's answer arrives now: the other worker holds the delivery.
    await queue.record(
        db,
        lease_id=slow,
        outcomes=[
            queue.Outcome(
                event_id=event_id,
                endpoint_id=first[0].endpoint_id,
                attempted_at=now,
                status_code=200,
                latency_ms=31_000,
                error=None,
                status="delivered",
                next_attempt_at=None,
            )
        ],
    )
    attempts = await conn.fetch(
        "SELECT status_code, error FROM webhook_attempts WHERE event_id = $1", event_id
    )
    assert [(a["status_code"], a["error"]) for a in attempts] == [(None, queue.LOST_LEASE_ERROR)]
    delivery = await conn.fetchrow(
        "SELECT status, attempts, lease_id FROM webhook_deliveries WHERE event_id = $1", event_id
    )
    assert (delivery["status"], delivery["attempts"], delivery["lease_id"]) == (
        "pending",
        1,
        other,
    )
