"""The pledge lifecycle through the API."""

import pytest

from tests.conftest import slug
from tests.factories import at
from tests.lifecycle import approved


async def test_registration_then_release(desk, conn, clock):
    app = await approved(desk, conn, clock, register=False)
    pledge = app["pledges"][0]
    response = await desk.client.post(
        f"/v1/pledges/{pledge['id']}/registration",
        json={"registration_no": "Y2026440000123", "registered_on": "2026-03-09"},
        headers=desk.officer,
    )
    assert response.status_code == 200, response.text
    registered = response.json()
    assert registered["state"] == "registered"
    assert registered["registration_no"] == "Y2026440000123"
    assert registered["registered_on"] == "2026-03-09"
    assert response.headers["etag"] == f'"{registered["version"]}"'
    event = await conn.fetchrow(
        "SELECT * FROM outbox_events WHERE type = 'pledge.registered' AND data->>'pledge_id' = $1",
        pledge["id"],
    )
    assert event["district_code"] == "440307"
    assert event["data"]["registration_no"] == "Y2026440000123"
    again = await desk.client.post(
        f"/v1/pledges/{pledge['id']}/registration",
        json={"registration_no": "Y2", "registered_on": "2026-03-09"},
        headers=desk.officer,
    )
    assert again.status_code == 409 and slug(again) == "invalid-state-transition"
    released = await desk.client.post(
        f"/v1/pledges/{pledge['id']}/release",
        json={"reason": "collateral substituted"},
        headers=desk.admin,
    )
    assert released.status_code == 200
    assert released.json()["state"] == "released"
    assert released.json()["released_on"] == "2026-03-09"


async def test_registration_date_not_in_future(desk, conn, clock):
    app = await approved(desk, conn, clock, register=False)
    response = await desk.client.post(
        f"/v1/pledges/{app['pledges'][0]['id']}/registration",
        json={"registration_no": "Y1", "registered_on": "2026-03-10"},
        headers=desk.officer,
    )
    assert response.status_code == 422


async def test_proposed_pledge_cannot_be_released(desk, conn, clock):
    app = await approved(desk, conn, clock, register=False)
    response = await desk.client.post(
        f"/v1/pledges/{app['pledges'][0]['id']}/release", json={"reason": "x"}, headers=desk.officer
    )
    assert response.status_code == 409


async def test_list_filters_and_visibility(desk, conn, clock):
    clock.set(at("2026-03-09T10:00:00+08:00"))
    app = await desk.submit(await desk.create(assets=desk.assets[:2]))
    by_app = await desk.client.get(
        "/v1/pledges", params={"application_id": app["id"]}, headers=desk.officer
    )
    assert len(by_app.json()["items"]) == 2
    by_asset = await desk.client.get(
        "/v1/pledges", params={"ip_asset_id": str(desk.assets[0])}, headers=desk.rm
    )
    assert [p["application_id"] for p in by_asset.json()["items"]] == [app["id"]]
    proposed = await desk.client.get(
        "/v1/pledges", params={"state": "proposed", "application_id": app["id"]}, headers=desk.bank
    )
    assert len(proposed.json()["items"]) == 2
    theirs = await desk.client.get(
        "/v1/pledges", params={"application_id": app["id"]}, headers=desk.other_rm
    )
    assert theirs.json()["items"] == []
    one = app["pledges"][0]["id"]
    assert (await desk.client.get(f"/v1/pledges/{one}", headers=desk.other_rm)).status_code == 404


@pytest.mark.parametrize("role", ["bank_system", "relationship_manager", "securitization"])
async def test_only_officers_register(desk, conn, clock, make_key, role):
    app = await approved(desk, conn, clock, register=False)
    headers = desk.rm if role == "relationship_manager" else await make_key(role)
    response = await desk.client.post(
        f"/v1/pledges/{app['pledges'][0]['id']}/registration",
        json={"registration_no": "Y1", "registered_on": "2026-03-09"},
        headers=headers,
    )
    assert response.status_code == 403
