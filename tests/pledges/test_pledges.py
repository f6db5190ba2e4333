"""The pledge lifecycle through the API."""

from decimal import Decimal
from uuid import UUID

import pytest

from app.applications import moves as application_moves
from app.core import journal
from app.main import connect_domains
from app.pledges import service as pledges_service
from tests.conftest import problem_of, slug
from tests.factories import at
from tests.lifecycle import approved, disbursed


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
    # The application shows its pledges: registering one is a change of it too.
    after = (await desk.client.get(f"/v1/applications/{app['id']}", headers=desk.officer)).json()
    assert after["version"] == app["version"] + 1
    assert [p["state"] for p in after["pledges"]] == ["registered"]
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


async def _register(desk, pledge_id: str, on: str = "2026-03-09") -> dict:
    response = await desk.client.post(
        f"/v1/pledges/{pledge_id}/registration",
        json={"registration_no": f"Y2026{pledge_id[-8:]}", "registered_on": on},
        headers=desk.officer,
    )
    assert response.status_code == 200, response.text
    return response.json()


class TestDeclineReleasesRegisteredPledges:
    async def test_a_declined_applications_registered_pledge_is_released(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        asset = desk.assets[0]
        app = await desk.submit(await desk.create(assets=[asset, desk.assets[1]]))
        await desk.act(app, "review")
        registered, proposed = app["pledges"][0], app["pledges"][1]
        await _register(desk, registered["id"])

        declined = await desk.act(app, "decision", outcome="declined", reason="thin collateral")

        states = {p["id"]: p["state"] for p in declined["pledges"]}
        assert states == {registered["id"]: "released", proposed["id"]: "cancelled"}
        pledge = (
            await desk.client.get(f"/v1/pledges/{registered['id']}", headers=desk.officer)
        ).json()
        assert pledge["released_on"] == "2026-03-09"
        assert pledge["state_reason"] == "application declined"
        asset_out = await desk.client.get(f"/v1/ip-assets/{asset}", headers=desk.officer)
        assert asset_out.json()["live_pledge_id"] is None
        audit = await conn.fetch(
            "SELECT action, before, after FROM audit_events WHERE entity_id = $1 ORDER BY id",
            registered["id"],
        )
        assert [a["action"] for a in audit][-1] == "pledge.released"
        assert audit[-1]["after"]["reason"] == "application declined"
        events = await conn.fetch(
            "SELECT data FROM outbox_events WHERE type = 'pledge.released' "
            "AND data->>'pledge_id' = $1",
            registered["id"],
        )
        assert len(events) == 1 and events[0]["data"]["application_id"] == app["id"]
        # The asset is free: another application can pledge it.
        again = await desk.submit(await desk.create(assets=[asset]))
        assert [p["state"] for p in again["pledges"]] == ["proposed"]


class TestReleaseWhileALoanDependsOnIt:
    async def _release(self, desk, pledge_id, headers):
        return await desk.client.post(
            f"/v1/pledges/{pledge_id}/release", json={"reason": "substituted"}, headers=headers
        )

    @pytest.mark.parametrize("stage", ["approved", "disbursed"])
    async def test_a_credit_officer_may_not(self, desk, conn, clock, stage):
        if stage == "approved":
            app = await approved(desk, conn, clock)
        else:
            app = await desk.get((await disbursed(desk, conn, clock))["application_id"])
        pledge = app["pledges"][0]
        response = await self._release(desk, pledge["id"], desk.officer)
        assert response.status_code == 409, response.text
        problem = problem_of(response)
        assert slug(response) == "invalid-state-transition"
        assert "by an admin" in problem["detail"] and problem["application_state"] == stage
        unchanged = await desk.client.get(f"/v1/pledges/{pledge['id']}", headers=desk.officer)
        assert unchanged.json()["state"] == "registered"
        assert unchanged.json()["version"] == pledge["version"]

    @pytest.mark.parametrize("stage", ["approved", "disbursed"])
    async def test_an_admin_may_and_it_is_audited(self, desk, conn, clock, stage):
        if stage == "approved":
            app = await approved(desk, conn, clock)
        else:
            app = await desk.get((await disbursed(desk, conn, clock))["application_id"])
        pledge = app["pledges"][0]
        response = await self._release(desk, pledge["id"], desk.admin)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "released"
        audit = await conn.fetchrow(
            "SELECT actor_role, actor_key_id::text AS key_id, before, after FROM audit_events "
            "WHERE entity_id = $1 AND action = 'pledge.released'",
            pledge["id"],
        )
        assert audit["actor_role"] == "admin" and audit["key_id"] == desk.admin["X-Key-Id"]
        assert audit["before"] == {"state": "registered"}
        assert audit["after"]["state_reason"] == "substituted"

    async def test_a_credit_officer_may_before_approval(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create(assets=[desk.assets[0]]))
        await desk.act(app, "review")
        pledge = await _register(desk, app["pledges"][0]["id"])
        response = await self._release(desk, pledge["id"], desk.officer)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "released"

    async def test_a_credit_officer_may_once_the_loan_is_paid_off(self, desk, conn, clock):
        # Paying off releases the pledges; one registered since (a data fix) is no longer
        # holding anything, so a credit officer may release it.
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="1000.00")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        interest = Decimal(loan["schedule"][0]["interest"])
        paid = await desk.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2026-04-10", "amount": f"{interest + Decimal('1000.00'):.2f}"},
            headers=desk.officer,
        )
        assert paid.json()["loan"]["state"] == "paid_off", paid.text
        app = await desk.get(loan["application_id"])
        pledge_id = app["pledges"][0]["id"]
        await conn.execute(
            "UPDATE pledges SET state = 'registered', released_on = NULL WHERE id = $1",
            UUID(pledge_id),
        )
        response = await self._release(desk, pledge_id, desk.officer)
        assert response.status_code == 200, response.text


def test_a_registration_takes_the_guard_the_domains_are_connected_with(monkeypatch):
    # The pledges domain does not import the applications domain: it is handed the guard
    # (decision 0017), and without one it refuses to register rather than skip it.
    monkeypatch.setattr(pledges_service, "_application_guard", None)
    with pytest.raises(RuntimeError, match="connect_domains"):
        pledges_service._guard(journal.Params(), pledge_id="$1", now="$2")
    connect_domains()
    ours, theirs = journal.Params(), journal.Params()
    for params in (ours, theirs):
        params.add(UUID(int=1))
        params.add("now")
    assert pledges_service._guard(ours, pledge_id="$1", now="$2") == (
        application_moves.pledge_move_guard(
            theirs, pledge_id="$1", now="$2", states=pledges_service.REGISTRABLE_WITH
        )
    )
    assert ours.values == theirs.values
