"""Races, with real commits on separate connections: no request, however concurrent, may
leave two live pledges of one asset, two decisions, or a half-done submission."""

import asyncio

import pytest

from tests import factories
from tests.factories import at

pytestmark = pytest.mark.committed


async def _world(live_runtime, make_live_key, live_client, clock):
    from tests.desk import live_desk

    clock.set(at("2026-03-09T10:00:00+08:00"))
    async with live_runtime.database.connection() as db, db.transaction():
        enterprise = await factories.enterprise(db.conn)
        asset = await factories.ip_asset(db.conn, enterprise)
    return await live_desk(make_live_key, live_client, enterprise, assets=[asset])


async def test_concurrent_submissions_pledging_one_asset(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    drafts = [await desk.create(assets=desk.assets) for _ in range(8)]
    responses = await asyncio.gather(
        *[live_client.post(f"/v1/applications/{d['id']}/submit", headers=desk.rm) for d in drafts]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 7, statuses
    assert all(
        r.json()["type"].endswith("ip-asset-already-pledged")
        for r in responses
        if r.status_code == 409
    )
    async with live_runtime.database.connection() as db:
        live = await db.fetchval(
            "SELECT count(*) FROM pledges WHERE ip_asset_id = $1 "
            "AND state IN ('proposed', 'registered')",
            desk.assets[0],
        )
        clocks = await db.fetchval(
            "SELECT count(*) FROM approval_clocks WHERE application_id = ANY($1::uuid[])",
            [d["id"] for d in drafts],
        )
        submitted = await db.fetchval(
            "SELECT count(*) FROM applications WHERE id = ANY($1::uuid[]) AND state = 'submitted'",
            [d["id"] for d in drafts],
        )
        events = await db.fetchval(
            "SELECT count(*) FROM outbox_events WHERE type = 'application.submitted' "
            "AND data->>'application_id' = ANY($1::text[])",
            [d["id"] for d in drafts],
        )
    assert (live, clocks, submitted, events) == (1, 1, 1, 1)


async def test_submissions_pledging_one_asset_in_one_batch(
    live_runtime, make_live_key, live_client, clock
):
    """Six submissions of drafts that name one asset, held until they all wait in the
    batcher's queue, go to the database in one round trip (``app.core.batch``): the pledge
    index fails that batch, which is rolled back and run again statement by statement, so one
    submission wins and each other one gets its own 409, with nothing of it written."""
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    async with live_runtime.database.connection() as db:
        own = await factories.ip_asset(db.conn, desk.enterprise_id)
    lone = await desk.create(assets=[own])  # the one held at the gate
    drafts = [await desk.create(assets=desk.assets) for _ in range(6)]
    batcher = live_runtime.database.batcher
    checkout, opened, holding = batcher._checkout, asyncio.Event(), asyncio.Event()

    async def gated() -> object:
        if not holding.is_set():
            holding.set()
            await opened.wait()
        return await checkout()

    batcher.max_inflight, batcher._checkout = 1, gated
    before = (batcher.batches, batcher.replays)

    def submit(draft: dict) -> asyncio.Task:
        path = f"/v1/applications/{draft['id']}/submit"
        return asyncio.create_task(live_client.post(path, headers=desk.rm))

    first = submit(lone)
    await asyncio.wait_for(holding.wait(), 10)
    rest = [submit(d) for d in drafts]
    for _ in range(2000):
        if sum(len(q) for q in batcher._queues.values()) == len(rest):
            break
        await asyncio.sleep(0.001)
    opened.set()
    responses = await asyncio.gather(first, *rest)

    assert responses[0].status_code == 200, responses[0].text
    statuses = sorted(r.status_code for r in responses[1:])
    assert statuses == [200] + [409] * 5, statuses
    assert (batcher.batches - before[0], batcher.replays - before[1]) == (2, 1)
    async with live_runtime.database.connection() as db:
        counts = await db.fetchrow(
            """SELECT (SELECT count(*) FROM pledges WHERE application_id = ANY($1::uuid[]))
                          AS pledges,
                      (SELECT count(*) FROM approval_clocks WHERE application_id = ANY($1::uuid[]))
                          AS clocks,
                      (SELECT count(*) FROM audit_events WHERE action = 'application.submitted'
                       AND entity_id = ANY($1::text[])) AS audits,
                      (SELECT count(*) FROM outbox_events WHERE type = 'application.submitted'
                       AND data->>'application_id' = ANY($1::text[])) AS events""",
            [d["id"] for d in drafts],
        )
    assert dict(counts) == {"pledges": 1, "clocks": 1, "audits": 1, "events": 1}


async def test_two_concurrent_decisions_one_wins(live_runtime, make_live_key, live_client, clock):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    app = await desk.submit(await desk.create(assets=desk.assets))
    await desk.act(app, "review")
    other_officer = await make_live_key("credit_officer")
    responses = await asyncio.gather(
        live_client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "declined", "reason": "first"},
            headers=desk.officer,
        ),
        live_client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "declined", "reason": "second"},
            headers=other_officer,
        ),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["type"].endswith("invalid-state-transition")
    final = await desk.get(app)
    winner = next(r for r in responses if r.status_code == 200).json()
    assert final["decision_reason"] == winner["decision_reason"]
    async with live_runtime.database.connection() as db:
        events = await db.fetchval(
            "SELECT count(*) FROM outbox_events WHERE type = 'application.declined' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
    assert events == 1


async def test_idempotent_submission_replays(live_runtime, make_live_key, live_client, clock):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    draft = await desk.create(assets=desk.assets)
    headers = {**desk.rm, "Idempotency-Key": f"submit-{draft['id']}"}
    responses = await asyncio.gather(
        *[
            live_client.post(f"/v1/applications/{draft['id']}/submit", headers=headers)
            for _ in range(5)
        ]
    )
    ok = [r for r in responses if r.status_code == 200]
    assert ok and all(r.status_code in (200, 409) for r in responses)
    assert len({r.content for r in ok}) == 1
    again = await live_client.post(f"/v1/applications/{draft['id']}/submit", headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.content == ok[0].content


async def test_a_registration_racing_a_decline_never_leaves_a_live_pledge(
    live_runtime, make_live_key, live_client, clock
):
    """Whichever commits second fails: a declined application never keeps a pledge that is
    still proposed or registered, and its audit trail says what became of each pledge."""
    outcomes = set()
    for _ in range(12):
        desk = await _world(live_runtime, make_live_key, live_client, clock)
        app = await desk.submit(await desk.create(assets=desk.assets))
        await desk.act(app, "review")
        pledge = app["pledges"][0]
        register, decline = await asyncio.gather(
            live_client.post(
                f"/v1/pledges/{pledge['id']}/registration",
                json={"registration_no": f"Y{pledge['id'][-12:]}", "registered_on": "2026-03-09"},
                headers=desk.officer,
            ),
            live_client.post(
                f"/v1/applications/{app['id']}/decision",
                json={"outcome": "declined", "reason": "insufficient cover"},
                headers=desk.officer,
            ),
        )
        outcomes.add((register.status_code, decline.status_code))
        assert register.status_code in (200, 409) and decline.status_code in (200, 409)
        final = await desk.get(app)
        states = {p["state"] for p in final["pledges"]}
        if final["state"] == "declined":
            assert states <= {"cancelled", "released"}, states
        else:
            assert decline.status_code == 409 and states == {"registered"}
        async with live_runtime.database.connection() as db:
            trail = await db.fetch(
                "SELECT action FROM audit_events WHERE entity_type = 'pledge' "
                "AND entity_id = $1 ORDER BY id",
                pledge["id"],
            )
        moves = [r["action"] for r in trail]
        expected = {
            "cancelled": ["pledge.cancelled"],
            "released": ["pledge.registered", "pledge.released"],
            "registered": ["pledge.registered"],
        }[states.pop()]
        assert moves[-len(expected) :] == expected, moves
    # Both orders come up over a dozen races on two cores; each is checked above.
    assert outcomes <= {(200, 409), (409, 200), (200, 200)}
