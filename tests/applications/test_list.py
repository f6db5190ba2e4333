"""Listing: filters, cursor pages, and the SQL and Python views of SLA state agreeing."""

import pytest

from app.applications.sla import FILTERABLE_SLA_STATES
from tests import factories
from tests.desk import make_desk
from tests.factories import at


async def _ids(desk, **params):
    response = await desk.client.get("/v1/applications", params=params, headers=desk.officer)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


async def test_pages_walk_newest_first_without_overlap(desk, clock):
    clock.set(at("2026-03-09T10:00:00+08:00"))
    created = [(await desk.create())["id"] for _ in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "relationship_manager_id": desk.rm_id}
        if cursor:
            params["cursor"] = cursor
        page = (await desk.client.get("/v1/applications", params=params, headers=desk.rm)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(created))


async def test_filters(client, make_key, conn, clock):
    clock.set(at("2026-03-09T10:00:00+08:00"))
    north = await make_desk(client, make_key, conn, district="440307", industry="biomedicine")
    south = await make_desk(client, make_key, conn, district="440305", industry="low_carbon")
    a = await north.submit(await north.create())
    b = await south.create()
    clock.set(at("2026-03-20T10:00:00+08:00"))
    c = await south.submit(await south.create())
    assert await _ids(north, district_code="440307", relationship_manager_id=north.rm_id) == [
        a["id"]
    ]
    assert await _ids(south, industry="low_carbon", relationship_manager_id=south.rm_id) == [
        c["id"],
        b["id"],
    ]
    assert await _ids(south, state="draft", relationship_manager_id=south.rm_id) == [b["id"]]
    march9 = await _ids(north, received_from="2026-03-09", received_to="2026-03-09")
    assert a["id"] in march9 and c["id"] not in march9
    later = await _ids(north, received_from="2026-03-10")
    assert c["id"] in later and a["id"] not in later


@pytest.mark.parametrize(
    "bad",
    [
        {"state": "pending"},
        {"sla_state": "late"},
        {"industry": "fintech"},
        {"limit": 201},
        {"limit": 0},
        {"received_from": "2026-13-01"},
        {"cursor": "abc"},
    ],
)
async def test_bad_filters_are_422(desk, bad):
    response = await desk.client.get("/v1/applications", params=bad, headers=desk.officer)
    assert response.status_code == 422


async def test_sla_filter_agrees_with_the_state_shown(desk, conn, clock):
    """Every SLA state filter returns exactly the applications whose `sla.state` it names."""
    clock.set(at("2026-03-02T10:00:00+08:00"))
    assets = [await factories.ip_asset(conn, desk.enterprise_id) for _ in range(9)]
    made = {}
    # breached: received 2 Mar, deadline 5 Mar.
    made["breached"] = await desk.submit(await desk.create(assets=[assets[0]]))
    # met and missed decisions.
    for name, asset in (("met", assets[1]), ("missed", assets[2])):
        made[name] = await desk.submit(await desk.create(assets=[asset]))
        await desk.act(made[name], "review")
    clock.set(at("2026-03-05T10:00:00+08:00"))
    await desk.act(made["met"], "decision", outcome="declined", reason="no")
    # at risk: received Tue 10 Mar → deadline Fri 13 Mar; running: received Fri 13 → Wed 18.
    clock.set(at("2026-03-10T10:00:00+08:00"))
    made["at_risk"] = await desk.submit(await desk.create(assets=[assets[3]]))
    clock.set(at("2026-03-13T09:00:00+08:00"))
    await desk.act(made["missed"], "decision", outcome="declined", reason="no")
    made["running"] = await desk.submit(await desk.create(assets=[assets[4]]))
    made["paused"] = await desk.submit(await desk.create(assets=[assets[5]]))
    await desk.act(made["paused"], "return", reason="more")
    made["withdrawn"] = await desk.submit(await desk.create(assets=[assets[6]]))
    await desk.act(made["withdrawn"], "withdraw", headers=desk.rm, reason="gone")
    draft = await desk.create(assets=[assets[7]])
    # pending_calendar: back-dated receipts cannot reach 2027, so write the clock's deadline away.
    made["pending_calendar"] = await desk.submit(await desk.create(assets=[assets[8]]))
    await conn.execute(
        "UPDATE approval_clocks SET deadline_date = NULL, deadline_at = NULL "
        "WHERE application_id = $1::uuid",
        made["pending_calendar"]["id"],
    )
    await conn.execute(
        "UPDATE applications SET deadline_date = NULL, deadline_at = NULL WHERE id = $1::uuid",
        made["pending_calendar"]["id"],
    )

    shown = {}
    for app in [*made.values(), draft]:
        got = await desk.get(app)
        shown[got["id"]] = got["sla"]["state"] if got["sla"] else None
    assert {name: shown[app["id"]] for name, app in made.items()} == {n: n for n in made}
    for state in FILTERABLE_SLA_STATES:
        listed = set(
            await _ids(desk, sla_state=state.value, relationship_manager_id=desk.rm_id, limit=200)
        )
        assert listed == {i for i, s in shown.items() if s == state.value}, state
