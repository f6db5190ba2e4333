"""Creating applications: who may, for whom, and what is refused."""

import json

import pytest

from tests import factories
from tests.conftest import problem_of


class TestCreate:
    async def test_relationship_manager_creates_own_draft(self, desk):
        app = await desk.create(assets=desk.assets[:2], amount="10000000.00")
        assert app["state"] == "draft"
        assert app["relationship_manager_id"] == desk.rm_id
        assert app["amount"] == "10000000.00"
        assert app["reference"].startswith("ZCR-") and len(app["reference"]) >= 15
        assert sorted(app["ip_asset_ids"]) == sorted(str(a) for a in desk.assets[:2])
        assert app["sla"] is None and app["clocks"] == [] and app["pledges"] == []
        assert app["district_code"] == "440307" and app["industry"] == "artificial_intelligence"

    async def test_read_back_equals_created(self, desk):
        app = await desk.create()
        assert await desk.get(app) == app

    async def test_bank_system_names_the_manager(self, desk):
        app = await desk.create(headers=desk.bank, relationship_manager_id=desk.rm_id)
        assert app["relationship_manager_id"] == desk.rm_id
        # The manager sees it as their own.
        assert (await desk.get(app, headers=desk.rm))["id"] == app["id"]

    async def test_bank_system_must_name_a_manager(self, desk):
        body = factories.application_body(desk.enterprise_id, desk.assets[:1])
        response = await desk.client.post("/v1/applications", json=body, headers=desk.bank)
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "relationship_manager_id"]

    async def test_manager_cannot_create_for_another(self, desk):
        body = factories.application_body(
            desk.enterprise_id, desk.assets[:1], relationship_manager_id="SOMEONE-ELSE"
        )
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422

    @pytest.mark.parametrize("role", ["credit_officer", "securitization", "admin"])
    async def test_other_roles_may_not_originate(self, desk, make_key, role):
        body = factories.application_body(
            desk.enterprise_id, desk.assets[:1], relationship_manager_id=desk.rm_id
        )
        response = await desk.client.post(
            "/v1/applications", json=body, headers=await make_key(role)
        )
        assert response.status_code == 403

    async def test_district_bureau_may_not_read(self, desk, make_key):
        app = await desk.create()
        bureau = await make_key("district_bureau", "440307")
        response = await desk.client.get(f"/v1/applications/{app['id']}", headers=bureau)
        assert response.status_code == 403


class TestRefused:
    @pytest.mark.parametrize(
        "override,field",
        [
            ({"amount": "0.00"}, "amount"),
            ({"amount": "100.001"}, "amount"),
            ({"amount": "-5"}, "amount"),
            ({"term_months": 0}, "term_months"),
            ({"term_months": 61}, "term_months"),
            ({"purpose": ""}, "purpose"),
            ({"ip_asset_ids": []}, "ip_asset_ids"),
            ({"colour": "blue"}, "colour"),
        ],
    )
    async def test_invalid_fields(self, desk, conn, override, field):
        before = await conn.fetchval("SELECT count(*) FROM applications")
        body = factories.application_body(desk.enterprise_id, desk.assets[:1], **override)
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422, response.text
        assert field in problem_of(response)["errors"][0]["loc"]
        assert await conn.fetchval("SELECT count(*) FROM applications") == before

    async def test_amount_with_an_exponent(self, desk):
        body = factories.application_body(desk.enterprise_id, desk.assets[:1])
        raw = json.dumps(body).replace('"5000000.00"', "5e6")
        response = await desk.client.post(
            "/v1/applications",
            content=raw,
            headers={**desk.rm, "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "amount"]

    async def test_unknown_enterprise(self, desk):
        body = factories.application_body("0190a0a0-0000-7000-8000-000000000001", desk.assets[:1])
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "enterprise_id"]

    async def test_asset_of_another_enterprise(self, desk, conn):
        stranger = await factories.enterprise(conn)
        foreign = await factories.ip_asset(conn, stranger)
        body = factories.application_body(desk.enterprise_id, [desk.assets[0], foreign])
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422
        assert str(foreign) in problem_of(response)["detail"]

    async def test_unknown_and_duplicate_assets(self, desk):
        unknown = "0190a0a0-0000-7000-8000-0000000000ff"
        body = factories.application_body(desk.enterprise_id, [desk.assets[0]])
        body["ip_asset_ids"].append(unknown)
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422 and unknown in response.text
        body["ip_asset_ids"] = [str(desk.assets[0])] * 2
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422

    async def test_cross_border_asset_under_licence(self, desk, conn):
        licensee = await factories.enterprise(conn, cross_border=True)
        asset = await factories.ip_asset(conn, licensee)
        await conn.execute(
            "UPDATE ip_assets SET licensor_name = 'HK Parent Ltd' WHERE id = $1", asset
        )
        body = factories.application_body(licensee, [asset])
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 201

    async def test_audit_entry_written(self, desk, conn):
        app = await desk.create()
        row = await conn.fetchrow(
            "SELECT * FROM audit_events WHERE entity_type = 'application' AND entity_id = $1",
            app["id"],
        )
        assert row["action"] == "application.created"
        assert row["actor_role"] == "relationship_manager"
        assert row["after"]["amount"] == "5000000.00"


class TestTrail:
    @pytest.mark.parametrize("keyed", [False, True])
    async def test_the_trail_keeps_the_stated_purpose(self, desk, keyed):
        # The use of the funds is what a later check of the loan's use compares against.
        purpose = "Working capital for the\nsecond production line"
        headers = {**desk.rm, "Idempotency-Key": "purpose-1"} if keyed else None
        app = await desk.create(purpose=purpose, headers=headers)
        trail = await desk.client.get(
            "/v1/audit-events",
            params={"entity_type": "application", "entity_id": app["id"]},
            headers=desk.admin,
        )
        [created] = trail.json()["items"]
        assert created["action"] == "application.created"
        assert created["after"]["purpose"] == purpose
