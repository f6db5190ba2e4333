"""Creating a draft with an Idempotency-Key (what bank systems send) is one statement: the
claim of the key, the draft, its audit entry and the stored answer commit together or not at
all, with real commits on the pool and its batcher."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests import factories
from tests.conftest import slug
from tests.factories import at

pytestmark = pytest.mark.committed


@contextmanager
def round_trips() -> Iterator[list[str]]:
    """Every statement (and BEGIN, COMMIT, savepoint) sent to PostgreSQL meanwhile: each is a
    round trip; a batch of pipelined statements counts once."""
    sent: list[str] = []
    originals: dict[str, Any] = {}

    def spy(name: str, describe: Any) -> None:
        original = getattr(asyncpg.Connection, name)
        originals[name] = original

        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            label = describe(args)
            if label is not None:
                sent.append(label)
            return await original(self, *args, **kwargs)

        setattr(asyncpg.Connection, name, counted)

    # ``execute`` with parameters goes on to ``_execute``: count it there only.
    spy("execute", lambda args: args[0].split()[0] if len(args) == 1 else None)
    spy("_execute", lambda args: " ".join(args[0].split()[:2]))
    spy("_executemany", lambda args: "batch " + " ".join(args[0].split()[:2]))
    try:
        yield sent
    finally:
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)


async def _world(live_runtime, make_live_key, live_client, clock):
    from tests.desk import live_desk

    clock.set(at("2026-03-09T10:00:00+08:00"))
    async with live_runtime.database.connection() as db, db.transaction():
        enterprise = await factories.enterprise(db.conn)
        asset = await factories.ip_asset(db.conn, enterprise)
    return await live_desk(make_live_key, live_client, enterprise, assets=[asset])


async def _create(client, desk, key: str, **body: Any):
    payload = factories.application_body(
        desk.enterprise_id, desk.assets, relationship_manager_id=desk.rm_id, **body
    )
    return await client.post(
        "/v1/applications", json=payload, headers={**desk.bank, "Idempotency-Key": key}
    )


async def test_a_keyed_create_is_one_round_trip(live_runtime, make_live_key, live_client, clock):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    await _create(live_client, desk, f"warm-{uuid4()}")  # keys cached, statements prepared
    with round_trips() as sent:
        response = await _create(live_client, desk, f"count-{uuid4()}")
    assert response.status_code == 201, response.text
    assert len(sent) == 1, sent
    with round_trips() as sent:
        replay = await _create(live_client, desk, response.request.headers["idempotency-key"])
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == response.content
    assert len(sent) <= 3, sent  # the claim finds the answer, which is read and sent back


async def test_the_replay_is_the_first_answer_byte_for_byte(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    key = f"replay-{uuid4()}"
    first = await _create(live_client, desk, key, purpose=f"tooling ipledge{uuid4().hex}reference")
    assert first.status_code == 201, first.text
    again = await _create(live_client, desk, key, purpose=first.json()["purpose"])
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert first.json()["reference"].startswith("ZCR-2026-")
    assert first.json()["district_code"] == again.json()["district_code"]
    other = await _create(live_client, desk, key, purpose="something else")
    assert other.status_code == 422 and slug(other) == "idempotency-key-reused"
    async with live_runtime.database.connection() as db:
        created = await db.fetchval(
            "SELECT count(*) FROM applications WHERE enterprise_id = $1", desk.enterprise_id
        )
        trail = await db.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'application.created' "
            "AND entity_id = $1",
            first.json()["id"],
        )
    assert created == 1 and trail == 1


async def test_simultaneous_identical_creates_act_once(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    key = f"burst-{uuid4()}"
    responses = await asyncio.gather(*[_create(live_client, desk, key) for _ in range(12)])
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created and len({r.content for r in created}) == 1
    async with live_runtime.database.connection() as db:
        count = await db.fetchval(
            "SELECT count(*) FROM applications WHERE enterprise_id = $1", desk.enterprise_id
        )
    assert count == 1


async def test_a_refused_keyed_create_stores_nothing(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    key = f"refused-{uuid4()}"
    payload = factories.application_body(uuid4(), desk.assets, relationship_manager_id=desk.rm_id)
    headers = {**desk.bank, "Idempotency-Key": key}
    refused = await live_client.post("/v1/applications", json=payload, headers=headers)
    assert refused.status_code == 422
    # The key may be used again, for a request that succeeds.
    assert (await _create(live_client, desk, key)).status_code == 201


async def test_a_first_submission_is_one_round_trip(
    live_runtime, make_live_key, live_client, clock
):
    # The other hot write of the intake desk, for comparison: one statement, as a create.
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    warm = (await _create(live_client, desk, f"warm-{uuid4()}")).json()
    await live_client.post(f"/v1/applications/{warm['id']}/submit", headers=desk.bank)
    async with live_runtime.database.connection() as db, db.transaction():
        asset = await factories.ip_asset(db.conn, desk.enterprise_id)
    payload = factories.application_body(
        desk.enterprise_id, [asset], relationship_manager_id=desk.rm_id
    )
    draft = (await live_client.post("/v1/applications", json=payload, headers=desk.bank)).json()
    with round_trips() as sent:
        response = await live_client.post(
            f"/v1/applications/{draft['id']}/submit", headers=desk.bank
        )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "submitted"
    assert len(sent) <= 2, sent  # the statement, and at most a check of the calendar's revision
