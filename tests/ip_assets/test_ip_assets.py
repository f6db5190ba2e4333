"""IP assets: registered once under their canonical number (race-safe), validated on input,
readable by every bank role with their current valuation and live pledge."""

import asyncio
from datetime import date
from uuid import UUID

import pytest

from tests.conftest import problem_of, slug
from tests.enterprises.conftest import enterprise_body
from tests.ip_assets.conftest import asset_body, new_number

BANK_ROLES = ["bank_system", "relationship_manager", "credit_officer", "securitization", "admin"]


async def _counts(conn) -> tuple[int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM ip_assets"),
        await conn.fetchval("SELECT count(*) FROM audit_events WHERE entity_type = 'ip_asset'"),
    )


class TestCreate:
    async def test_patent_number_is_answered_in_canonical_form(
        self, client, key_for, make_enterprise, conn
    ):
        holder = await make_enterprise()
        headers = await key_for("relationship_manager")
        body = asset_body(
            holder.id, number="zl 2017 1 06018623", protection_expires_on="2037-07-21"
        )
        response = await client.post("/v1/ip-assets", json=body, headers=headers)
        assert response.status_code == 201, response.text
        asset = response.json()
        assert asset["number"] == "201710601862.3"
        assert asset["kind"] == "invention_patent"
        assert asset["holder_enterprise_id"] == str(holder.id)
        assert asset["protection_expires_on"] == "2037-07-21"
        assert asset["nice_class"] is None and asset["licensor_name"] is None
        assert asset["current_valuation"] is None and asset["live_pledge_id"] is None
        assert asset["created_at"].endswith("+08:00")

        event = await conn.fetchrow(
            "SELECT action, actor_role, after FROM audit_events "
            "WHERE entity_type = 'ip_asset' AND entity_id = $1",
            asset["id"],
        )
        assert event["action"] == "ip_asset.created"
        assert event["actor_role"] == "relationship_manager"
        assert event["after"]["number"] == "201710601862.3"

        fetched = await client.get(f"/v1/ip-assets/{asset['id']}", headers=headers)
        assert fetched.json() == asset

    async def test_trademark_and_software_copyright(self, client, key_for, make_enterprise):
        holder = await make_enterprise()
        headers = await key_for("bank_system")
        mark = await client.post(
            "/v1/ip-assets",
            json=asset_body(holder.id, kind="trademark", number=" 12345678 ", nice_class=42),
            headers=headers,
        )
        assert mark.status_code == 201
        assert (mark.json()["number"], mark.json()["nice_class"]) == ("12345678", 42)
        software = await client.post(
            "/v1/ip-assets",
            json=asset_body(holder.id, kind="software_copyright", number="2017SR248720"),
            headers=headers,
        )
        assert software.status_code == 201

    async def test_cross_border_pledge_names_its_licensor(self, client, key_for, make_enterprise):
        holder = await make_enterprise(cross_border=True)
        response = await client.post(
            "/v1/ip-assets",
            json=asset_body(holder.id, licensor_name="香港智能科技控股有限公司"),
            headers=await key_for("admin"),
        )
        assert response.status_code == 201
        assert response.json()["licensor_name"] == "香港智能科技控股有限公司"

    @pytest.mark.parametrize("role", ["credit_officer", "securitization", "district_bureau"])
    async def test_other_roles_may_not_create(self, client, key_for, make_enterprise, conn, role):
        holder = await make_enterprise()
        before = await _counts(conn)
        response = await client.post(
            "/v1/ip-assets", json=asset_body(holder.id), headers=await key_for(role)
        )
        assert response.status_code == 403
        assert await _counts(conn) == before


class TestInvalidInput:
    @pytest.mark.parametrize(
        ("overrides", "loc", "msg"),
        [
            ({"number": "201710601862.4"}, ["body", "number"], "check digit"),
            ({"kind": "utility_model", "number": "201710601862.3"}, ["body", "number"], "type"),
            ({"kind": "design_patent", "number": "ZL2016211093409"}, ["body", "number"], "type"),
            ({"number": "2017-106018623"}, ["body", "number"], "12 digits"),
            ({"kind": "trademark", "number": "12345678", "nice_class": None}, None, "Nice"),
            ({"kind": "trademark", "number": "12345678", "nice_class": 46}, None, "45"),
            ({"kind": "trademark", "number": "0012"}, ["body", "number"], "digits"),
            ({"nice_class": 9}, ["body", "nice_class"], "only trademarks"),
            ({"kind": "trademark", "number": "12345678", "nice_class": True}, None, "integer"),
            ({"kind": "software_copyright", "number": "x" * 33}, ["body", "number"], "32"),
            ({"kind": "copyright"}, ["body", "kind"], ""),
            ({"title": ""}, ["body", "title"], ""),
            ({"title": "t" * 301}, ["body", "title"], ""),
            ({"licensor_name": ""}, ["body", "licensor_name"], ""),
            ({"holder_enterprise_id": "not-a-uuid"}, ["body", "holder_enterprise_id"], ""),
            ({"protection_expires_on": "2037-13-01"}, ["body", "protection_expires_on"], ""),
            ({"patent_office": "CNIPA"}, ["body", "patent_office"], ""),
        ],
    )
    async def test_is_422_with_field_errors_and_writes_nothing(
        self, client, key_for, make_enterprise, conn, overrides, loc, msg
    ):
        holder = await make_enterprise()
        before = await _counts(conn)
        response = await client.post(
            "/v1/ip-assets", json=asset_body(holder.id, **overrides), headers=await key_for("admin")
        )
        assert response.status_code == 422, response.text
        [error] = problem_of(response)["errors"]
        assert error["loc"] == (loc or ["body", "nice_class"])
        assert msg in error["msg"]
        assert await _counts(conn) == before

    async def test_unknown_holder_is_a_field_error(self, client, key_for, conn):
        before = await _counts(conn)
        response = await client.post(
            "/v1/ip-assets",
            json=asset_body("0190d6a2-7b1c-7c3e-8000-000000000000"),
            headers=await key_for("bank_system"),
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "holder_enterprise_id"]
        assert await _counts(conn) == before

    async def test_licensor_only_for_a_cross_border_holder(
        self, client, key_for, make_enterprise, conn
    ):
        holder = await make_enterprise(cross_border=False)
        before = await _counts(conn)
        response = await client.post(
            "/v1/ip-assets",
            json=asset_body(holder.id, licensor_name="香港智能科技控股有限公司"),
            headers=await key_for("bank_system"),
        )
        assert response.status_code == 422
        [error] = problem_of(response)["errors"]
        assert error["loc"] == ["body", "licensor_name"]
        assert "not cross-border" in error["msg"]
        assert await _counts(conn) == before


class TestDuplicates:
    @pytest.mark.parametrize("printed", ["ZL201710601862.3", "2017106018623", "zl2017106018623"])
    async def test_the_same_number_typed_another_way_is_a_duplicate(
        self, client, key_for, make_enterprise, conn, printed
    ):
        holder = await make_enterprise()
        headers = await key_for("bank_system")
        first = await client.post(
            "/v1/ip-assets", json=asset_body(holder.id, number="201710601862.3"), headers=headers
        )
        assert first.status_code == 201
        before = await _counts(conn)
        second = await client.post(
            "/v1/ip-assets", json=asset_body(holder.id, number=printed), headers=headers
        )
        assert second.status_code == 409
        assert slug(second) == "duplicate-ip-asset"
        assert problem_of(second)["existing_ip_asset_id"] == first.json()["id"]
        assert await _counts(conn) == before

    async def test_numbers_are_unique_per_kind(self, client, key_for, make_enterprise):
        holder = await make_enterprise()
        headers = await key_for("bank_system")
        for kind in ("invention_patent", "software_copyright"):
            response = await client.post(
                "/v1/ip-assets",
                json=asset_body(holder.id, kind=kind, number="201710601862.3"),
                headers=headers,
            )
            assert response.status_code == 201


class TestRead:
    @pytest.mark.parametrize("role", BANK_ROLES)
    async def test_every_bank_role_reads(
        self, client, key_for, make_enterprise, make_ip_asset, role
    ):
        asset = await make_ip_asset((await make_enterprise()).id)
        headers = await key_for(role)
        assert (await client.get(f"/v1/ip-assets/{asset.id}", headers=headers)).status_code == 200
        assert (
            await client.get(f"/v1/ip-assets/{asset.id}/valuations", headers=headers)
        ).status_code == 200
        listed = await client.get(
            "/v1/ip-assets",
            params={"holder_enterprise_id": str(asset.holder_enterprise_id)},
            headers=headers,
        )
        assert [a["id"] for a in listed.json()["items"]] == [str(asset.id)]

    async def test_district_bureau_may_not_read(
        self, client, key_for, make_enterprise, make_ip_asset
    ):
        asset = await make_ip_asset((await make_enterprise()).id)
        headers = await key_for("district_bureau")
        for path in (f"/v1/ip-assets/{asset.id}", f"/v1/ip-assets/{asset.id}/valuations"):
            assert (await client.get(path, headers=headers)).status_code == 403
        assert (await client.get("/v1/ip-assets", headers=headers)).status_code == 403

    @pytest.mark.parametrize("asset_id", ["0190d6a2-7b1c-7c3e-8000-000000000000", "x"])
    async def test_unknown_asset_is_404(self, client, key_for, asset_id):
        headers = await key_for("credit_officer")
        for path in (f"/v1/ip-assets/{asset_id}", f"/v1/ip-assets/{asset_id}/valuations"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 404
            assert slug(response) == "not-found"


class TestList:
    async def test_filters(self, client, key_for, make_enterprise, make_ip_asset):
        headers = await key_for("securitization")
        holder = await make_enterprise()
        patent = await make_ip_asset(holder.id, number="ZL202110377287.X")
        mark = await make_ip_asset(holder.id, kind="trademark")
        other = await make_ip_asset((await make_enterprise()).id)

        async def ids(**params):
            response = await client.get("/v1/ip-assets", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [a["id"] for a in response.json()["items"]]

        assert await ids(holder_enterprise_id=str(holder.id)) == [str(mark.id), str(patent.id)]
        assert await ids(holder_enterprise_id=str(holder.id), kind="trademark") == [str(mark.id)]
        assert await ids(kind="invention_patent", number="zl 2021 1 0377287x") == [str(patent.id)]
        assert await ids(number="202110377287X") == [str(patent.id)]
        assert await ids(number=other.number) == [str(other.id)]
        assert await ids(number=mark.number) == [str(mark.id)]

    async def test_pages_newest_first(self, client, key_for, make_enterprise, make_ip_asset):
        headers = await key_for("bank_system")
        holder = await make_enterprise()
        made = [await make_ip_asset(holder.id) for _ in range(3)]
        params = {"holder_enterprise_id": str(holder.id), "limit": 2}
        first = (await client.get("/v1/ip-assets", params=params, headers=headers)).json()
        assert [a["id"] for a in first["items"]] == [str(made[2].id), str(made[1].id)]
        second = await client.get(
            "/v1/ip-assets", params={**params, "cursor": first["next_cursor"]}, headers=headers
        )
        assert [a["id"] for a in second.json()["items"]] == [str(made[0].id)]
        assert second.json()["next_cursor"] is None

    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"kind": "invention_patent", "number": "201710601862.4"}, ["query", "number"]),
            ({"number": "x" * 40}, ["query", "number"]),
            ({"kind": "database"}, ["query", "kind"]),
            ({"holder_enterprise_id": "nope"}, ["query", "holder_enterprise_id"]),
        ],
    )
    async def test_bad_filters_are_422(self, client, key_for, params, loc):
        response = await client.get("/v1/ip-assets", params=params, headers=await key_for("admin"))
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == loc


async def _pledge(conn, *, asset_id: UUID, enterprise_id: UUID, state: str) -> UUID:
    """An application and its pledge on the asset, written directly: enough to make a pledge
    live (or not) for reading."""
    application_id = await conn.fetchval(
        """INSERT INTO applications
               (id, reference, enterprise_id, relationship_manager_id, amount, term_months,
                purpose, state, district_code, industry, created_at, updated_at, version)
           SELECT gen_random_uuid(), 'TEST-' || gen_random_uuid(), e.id, 'RM001', 5000000.00,
                  12, 'working capital', 'submitted', e.district_code, e.industry, now(), now(), 1
           FROM enterprises e WHERE e.id = $1
           RETURNING id""",
        enterprise_id,
    )
    registered = state != "proposed"
    return await conn.fetchval(
        """INSERT INTO pledges
               (id, application_id, ip_asset_id, state, registration_no, registered_on,
                created_at, updated_at, version)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, now(), now(), 1)
           RETURNING id""",
        application_id,
        asset_id,
        state,
        "ZX2026000123" if registered else None,
        date(2026, 3, 2) if registered else None,
    )


class TestLivePledge:
    @pytest.mark.parametrize("state", ["proposed", "registered"])
    async def test_live_pledge_is_shown(
        self, client, key_for, make_enterprise, make_ip_asset, conn, state
    ):
        holder = await make_enterprise()
        asset = await make_ip_asset(holder.id)
        pledge_id = await _pledge(conn, asset_id=asset.id, enterprise_id=holder.id, state=state)
        headers = await key_for("credit_officer")
        one = await client.get(f"/v1/ip-assets/{asset.id}", headers=headers)
        assert one.json()["live_pledge_id"] == str(pledge_id)
        listed = await client.get(
            "/v1/ip-assets", params={"holder_enterprise_id": str(holder.id)}, headers=headers
        )
        assert listed.json()["items"][0]["live_pledge_id"] == str(pledge_id)

    @pytest.mark.parametrize("state", ["released", "enforced", "cancelled"])
    async def test_ended_pledges_are_not_live(
        self, client, key_for, make_enterprise, make_ip_asset, conn, state
    ):
        holder = await make_enterprise()
        asset = await make_ip_asset(holder.id)
        await _pledge(conn, asset_id=asset.id, enterprise_id=holder.id, state=state)
        one = await client.get(f"/v1/ip-assets/{asset.id}", headers=await key_for("admin"))
        assert one.json()["live_pledge_id"] is None

    async def test_a_released_asset_pledged_again_shows_the_new_pledge(
        self, client, key_for, make_enterprise, make_ip_asset, conn
    ):
        holder = await make_enterprise()
        asset = await make_ip_asset(holder.id)
        await _pledge(conn, asset_id=asset.id, enterprise_id=holder.id, state="released")
        live = await _pledge(conn, asset_id=asset.id, enterprise_id=holder.id, state="proposed")
        one = await client.get(f"/v1/ip-assets/{asset.id}", headers=await key_for("admin"))
        assert one.json()["live_pledge_id"] == str(live)


@pytest.mark.committed
class TestConcurrency:
    async def test_simultaneous_registrations_of_one_number_make_one_asset(
        self, live_client, make_live_key, live_runtime
    ):
        headers = await make_live_key("bank_system")
        holder = await live_client.post("/v1/enterprises", json=enterprise_body(), headers=headers)
        number = new_number("utility_model")
        body_, check = number.split(".")
        printed = [number, f"ZL{number}", f"{body_}{check}", f"zl {body_}{check}"] * 2
        responses = await asyncio.gather(
            *[
                live_client.post(
                    "/v1/ip-assets",
                    json=asset_body(holder.json()["id"], kind="utility_model", number=p),
                    headers=headers,
                )
                for p in printed
            ]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 7, [r.text for r in responses]
        [created] = [r.json() for r in responses if r.status_code == 201]
        assert all(
            problem_of(r)["existing_ip_asset_id"] == created["id"]
            for r in responses
            if r.status_code == 409
        )
        async with live_runtime.database.connection() as db:
            count = await db.fetchval(
                "SELECT count(*) FROM ip_assets WHERE kind = 'utility_model' AND number = $1",
                number,
            )
        assert count == 1
