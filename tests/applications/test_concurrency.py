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
