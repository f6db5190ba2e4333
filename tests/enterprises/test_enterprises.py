"""Enterprises: registered once per credit code (race-safe), validated on input, readable by
every bank role and by nobody else."""

import asyncio
from uuid import UUID

import pytest

from tests.conftest import problem_of, slug
from tests.enterprises.conftest import enterprise_body, new_credit_code

BANK_ROLES = ["bank_system", "relationship_manager", "credit_officer", "securitization", "admin"]


async def _counts(conn) -> tuple[int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM enterprises"),
        await conn.fetchval("SELECT count(*) FROM audit_events WHERE entity_type = 'enterprise'"),
    )


class TestCreate:
    async def test_created_with_every_field_and_audited(self, client, key_for, conn):
        headers = await key_for("bank_system")
        code = new_credit_code()
        body = enterprise_body(
            name="深圳市坪山新能源科技有限公司",
            credit_code=f"  {code.lower()} ",
            district_code="440310",
            industry="low_carbon",
            high_tech=False,
            cross_border=True,
        )
        response = await client.post("/v1/enterprises", json=body, headers=headers)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["credit_code"] == code
        assert {k: created[k] for k in ("name", "district_code", "industry")} == {
            "name": "深圳市坪山新能源科技有限公司",
            "district_code": "440310",
            "industry": "low_carbon",
        }
        assert created["high_tech"] is False and created["cross_border"] is True
        assert created["created_at"].endswith("+08:00")
        UUID(created["id"])

        event = await conn.fetchrow(
            "SELECT action, actor_role, after FROM audit_events "
            "WHERE entity_type = 'enterprise' AND entity_id = $1",
            created["id"],
        )
        assert event["action"] == "enterprise.created"
        assert event["actor_role"] == "bank_system"
        assert event["after"]["credit_code"] == code

        fetched = await client.get(f"/v1/enterprises/{created['id']}", headers=headers)
        assert fetched.json() == created

    @pytest.mark.parametrize("role", ["bank_system", "relationship_manager", "admin"])
    async def test_creating_roles(self, client, key_for, role):
        response = await client.post(
            "/v1/enterprises", json=enterprise_body(), headers=await key_for(role)
        )
        assert response.status_code == 201

    @pytest.mark.parametrize("role", ["credit_officer", "securitization", "district_bureau"])
    async def test_other_roles_may_not_create(self, client, key_for, conn, role):
        before = await _counts(conn)
        response = await client.post(
            "/v1/enterprises", json=enterprise_body(), headers=await key_for(role)
        )
        assert response.status_code == 403
        assert slug(response) == "forbidden"
        assert await _counts(conn) == before

    @pytest.mark.parametrize(
        ("overrides", "loc"),
        [
            ({"credit_code": "9144030071526726XH"}, ["body", "credit_code"]),  # check char
            ({"credit_code": "9144030071526726X"}, ["body", "credit_code"]),  # 17 characters
            ({"credit_code": "914403007I526726XG"}, ["body", "credit_code"]),  # I is not used
            ({"district_code": "440399"}, ["body", "district_code"]),  # no such district
            ({"district_code": "4403"}, ["body", "district_code"]),
            ({"industry": "fintech"}, ["body", "industry"]),
            ({"name": ""}, ["body", "name"]),
            ({"name": "x" * 201}, ["body", "name"]),
            ({"high_tech": "yes"}, ["body", "high_tech"]),
            ({"cross_border": None}, ["body", "cross_border"]),
            ({"founded": "1998-11-11"}, ["body", "founded"]),  # unknown field
        ],
    )
    async def test_invalid_input_is_422_and_writes_nothing(
        self, client, key_for, conn, overrides, loc
    ):
        headers = await key_for("bank_system")
        before = await _counts(conn)
        response = await client.post(
            "/v1/enterprises", json=enterprise_body(**overrides), headers=headers
        )
        assert response.status_code == 422, response.text
        assert slug(response) == "validation-error"
        assert [e["loc"] for e in problem_of(response)["errors"]] == [loc]
        assert await _counts(conn) == before

    async def test_unknown_district_names_the_known_ones(self, client, key_for):
        response = await client.post(
            "/v1/enterprises",
            json=enterprise_body(district_code="440399"),
            headers=await key_for("bank_system"),
        )
        [error] = problem_of(response)["errors"]
        assert "440307" in error["msg"] and "440311" in error["msg"]

    async def test_missing_field_is_422(self, client, key_for):
        body = enterprise_body()
        del body["industry"]
        response = await client.post(
            "/v1/enterprises", json=body, headers=await key_for("bank_system")
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "industry"]


class TestDuplicates:
    async def test_second_registration_is_409_naming_the_first(self, client, key_for, conn):
        headers = await key_for("relationship_manager")
        body = enterprise_body()
        first = await client.post("/v1/enterprises", json=body, headers=headers)
        before = await _counts(conn)
        # The same code typed another way is the same code.
        again = {**body, "credit_code": body["credit_code"].lower(), "name": "另一家公司"}
        second = await client.post("/v1/enterprises", json=again, headers=headers)
        assert second.status_code == 409
        problem = problem_of(second)
        assert slug(second) == "duplicate-credit-code"
        assert problem["existing_enterprise_id"] == first.json()["id"]
        assert await _counts(conn) == before

    async def test_unknown_district_is_reported_before_a_duplicate(self, client, key_for):
        headers = await key_for("bank_system")
        body = enterprise_body()
        assert (await client.post("/v1/enterprises", json=body, headers=headers)).status_code == 201
        response = await client.post(
            "/v1/enterprises", json={**body, "district_code": "440399"}, headers=headers
        )
        assert response.status_code == 422


class TestRead:
    @pytest.mark.parametrize("role", BANK_ROLES)
    async def test_every_bank_role_reads(self, client, key_for, make_enterprise, role):
        enterprise = await make_enterprise()
        headers = await key_for(role)
        one = await client.get(f"/v1/enterprises/{enterprise.id}", headers=headers)
        assert one.status_code == 200
        assert one.json()["credit_code"] == enterprise.credit_code
        listed = await client.get(
            "/v1/enterprises", params={"credit_code": enterprise.credit_code}, headers=headers
        )
        assert [e["id"] for e in listed.json()["items"]] == [str(enterprise.id)]

    async def test_district_bureau_may_not_read(self, client, key_for, make_enterprise):
        enterprise = await make_enterprise()
        headers = await key_for("district_bureau")
        assert (
            await client.get(f"/v1/enterprises/{enterprise.id}", headers=headers)
        ).status_code == 403
        assert (await client.get("/v1/enterprises", headers=headers)).status_code == 403

    @pytest.mark.parametrize("enterprise_id", ["0190d6a2-7b1c-7c3e-8000-000000000000", "nope"])
    async def test_unknown_or_malformed_id_is_404(self, client, key_for, enterprise_id):
        response = await client.get(
            f"/v1/enterprises/{enterprise_id}", headers=await key_for("credit_officer")
        )
        assert response.status_code == 404
        assert slug(response) == "not-found"


class TestList:
    async def test_filters(self, client, key_for, make_enterprise):
        headers = await key_for("bank_system")
        drone = await make_enterprise(district_code="440309", industry="low_altitude_economy")
        pharma = await make_enterprise(district_code="440309", industry="biomedicine")
        await make_enterprise(district_code="440305", industry="biomedicine")

        by_district = await client.get(
            "/v1/enterprises", params={"district_code": "440309", "limit": 200}, headers=headers
        )
        items = by_district.json()["items"]
        assert {e["district_code"] for e in items} == {"440309"}
        assert {str(drone.id), str(pharma.id)} <= {e["id"] for e in items}

        both = await client.get(
            "/v1/enterprises",
            params={"district_code": "440309", "industry": "biomedicine", "limit": 200},
            headers=headers,
        )
        assert str(pharma.id) in {e["id"] for e in both.json()["items"]}
        assert str(drone.id) not in {e["id"] for e in both.json()["items"]}

        by_code = await client.get(
            "/v1/enterprises",
            params={"credit_code": f" {drone.credit_code.lower()} "},
            headers=headers,
        )
        assert [e["id"] for e in by_code.json()["items"]] == [str(drone.id)]

    async def test_pages_newest_first(self, client, key_for, make_enterprise):
        headers = await key_for("bank_system")
        made = [await make_enterprise() for _ in range(3)]
        first = (await client.get("/v1/enterprises", params={"limit": 2}, headers=headers)).json()
        assert [e["id"] for e in first["items"]] == [str(made[2].id), str(made[1].id)]
        second = await client.get(
            "/v1/enterprises",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=headers,
        )
        assert second.json()["items"][0]["id"] == str(made[0].id)

    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"credit_code": "9144030071526726XH"}, ["query", "credit_code"]),
            ({"industry": "fintech"}, ["query", "industry"]),
            ({"district_code": "44"}, ["query", "district_code"]),
            ({"limit": 201}, ["query", "limit"]),
        ],
    )
    async def test_bad_filters_are_422(self, client, key_for, params, loc):
        response = await client.get(
            "/v1/enterprises", params=params, headers=await key_for("admin")
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == loc


@pytest.mark.committed
class TestConcurrency:
    async def test_ten_simultaneous_registrations_make_one_enterprise(
        self, live_client, make_live_key, live_runtime
    ):
        headers = await make_live_key("bank_system")
        body = enterprise_body()
        responses = await asyncio.gather(
            *[live_client.post("/v1/enterprises", json=body, headers=headers) for _ in range(10)]
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 9, [r.text for r in responses]
        [created] = [r.json() for r in responses if r.status_code == 201]
        for refused in (r for r in responses if r.status_code == 409):
            assert slug(refused) == "duplicate-credit-code"
            assert problem_of(refused)["existing_enterprise_id"] == created["id"]
        async with live_runtime.database.connection() as db:
            rows = await db.fetch(
                "SELECT id FROM enterprises WHERE credit_code = $1", body["credit_code"]
            )
            audited = await db.fetchval(
                "SELECT count(*) FROM audit_events "
                "WHERE entity_type = 'enterprise' AND entity_id = $1",
                created["id"],
            )
        assert [str(r["id"]) for r in rows] == [created["id"]]
        assert audited == 1
