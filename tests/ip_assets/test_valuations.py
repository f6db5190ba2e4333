"""Valuations: any number per asset, never dated in the future (Asia/Shanghai), money to the
fen; the newest by valuation date is the asset's current one."""

from datetime import UTC, datetime

import pytest

from tests.conftest import problem_of, slug
from tests.enterprises.conftest import tick


def valuation(**overrides):
    body = {
        "value": "12000000.00",
        "appraiser": "深圳市鹏信资产评估土地房地产估价有限公司",
        "method": "income approach",
        "valuation_date": "2026-03-02",
    }
    body.update(overrides)
    return body


@pytest.fixture
def asset(make_enterprise, make_ip_asset, clock):
    # 16:30 UTC on 10 March is already 00:30 on 11 March in Shenzhen.
    clock.set(datetime(2026, 3, 10, 16, 30, tzinfo=UTC))

    async def create():
        return await make_ip_asset((await make_enterprise()).id)

    return create


async def _valuation_count(conn, asset_id) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM ip_asset_valuations WHERE ip_asset_id = $1", asset_id
    )


class TestAdd:
    async def test_recorded_and_audited(self, client, key_for, asset, conn):
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations",
            json=valuation(value=8500000.5),
            headers=await key_for("credit_officer"),
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["value"] == "8500000.50"
        assert created["ip_asset_id"] == str(ip_asset.id)
        assert created["method"] == "income approach"
        assert created["valuation_date"] == "2026-03-02"
        event = await conn.fetchrow(
            "SELECT action, after FROM audit_events "
            "WHERE entity_type = 'ip_asset' AND entity_id = $1 AND action = 'ip_asset.valued'",
            str(ip_asset.id),
        )
        assert event["after"]["id"] == created["id"]
        assert event["after"]["value"] == "8500000.50"

    @pytest.mark.parametrize("role", ["bank_system", "relationship_manager", "credit_officer"])
    async def test_the_credit_side_may_value(self, client, key_for, asset, role):
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations", json=valuation(), headers=await key_for(role)
        )
        assert response.status_code == 201

    @pytest.mark.parametrize("role", ["securitization", "admin"])
    async def test_the_securitization_desk_and_admins_may_not(
        self, client, key_for, asset, role, conn
    ):
        """SPEC section 5: the desk that sells the pool may not value its collateral."""
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations", json=valuation(), headers=await key_for(role)
        )
        assert response.status_code == 403
        assert await _valuation_count(conn, ip_asset.id) == 0

    async def test_district_bureau_may_not(self, client, key_for, asset, conn):
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations",
            json=valuation(),
            headers=await key_for("district_bureau"),
        )
        assert response.status_code == 403
        assert await _valuation_count(conn, ip_asset.id) == 0

    async def test_today_in_shenzhen_is_not_the_future(self, client, key_for, asset):
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations",
            json=valuation(valuation_date="2026-03-11"),
            headers=await key_for("bank_system"),
        )
        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"valuation_date": "2026-03-12"}, "valuation_date"),  # tomorrow in Shenzhen
            ({"value": "1000.005"}, "value"),
            ({"value": 1000.005}, "value"),
            ({"value": "0.00"}, "value"),
            ({"value": "-5.00"}, "value"),
            ({"value": "1e6"}, "value"),
            ({"appraiser": ""}, "appraiser"),
            ({"method": "m" * 101}, "method"),
            ({"valuation_date": "02/03/2026"}, "valuation_date"),
            ({"currency": "CNY"}, "currency"),
        ],
    )
    async def test_invalid_is_422_and_writes_nothing(
        self, client, key_for, asset, conn, overrides, field
    ):
        ip_asset = await asset()
        response = await client.post(
            f"/v1/ip-assets/{ip_asset.id}/valuations",
            json=valuation(**overrides),
            headers=await key_for("bank_system"),
        )
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"][0]["loc"] == ["body", field]
        assert await _valuation_count(conn, ip_asset.id) == 0

    @pytest.mark.parametrize("asset_id", ["0190d6a2-7b1c-7c3e-8000-000000000000", "nope"])
    async def test_unknown_asset_is_404(self, client, key_for, asset_id):
        response = await client.post(
            f"/v1/ip-assets/{asset_id}/valuations",
            json=valuation(),
            headers=await key_for("bank_system"),
        )
        assert response.status_code == 404
        assert slug(response) == "not-found"


class TestCurrentValuation:
    async def test_newest_by_valuation_date_then_entry(self, client, key_for, asset):
        ip_asset = await asset()
        headers = await key_for("bank_system")
        path = f"/v1/ip-assets/{ip_asset.id}/valuations"

        async def add(value, on):
            await tick()
            response = await client.post(
                path, json=valuation(value=value, valuation_date=on), headers=headers
            )
            return response.json()

        async def current():
            response = await client.get(f"/v1/ip-assets/{ip_asset.id}", headers=headers)
            return response.json()["current_valuation"]

        january = await add("9000000.00", "2026-01-10")
        assert (await current())["id"] == january["id"]
        # Entered later but appraised earlier: not the current one.
        await add("7000000.00", "2025-06-01")
        assert (await current()) == {k: v for k, v in january.items() if k != "ip_asset_id"}
        # Same appraisal date, entered later: the later entry wins.
        revised = await add("9500000.00", "2026-01-10")
        assert (await current())["id"] == revised["id"]
        assert (await current())["value"] == "9500000.00"


class TestList:
    async def test_newest_first_paged(self, client, key_for, asset):
        ip_asset = await asset()
        officer, headers = await key_for("credit_officer"), await key_for("securitization")
        path = f"/v1/ip-assets/{ip_asset.id}/valuations"
        dates = ["2025-06-01", "2026-01-10", "2024-12-31", "2026-01-10"]
        made = []
        for i, on in enumerate(dates):
            await tick()
            response = await client.post(
                path, json=valuation(value=f"{i + 1}000000.00", valuation_date=on), headers=officer
            )
            made.append(response.json()["id"])
        expected = [made[3], made[1], made[0], made[2]]

        first = (await client.get(path, params={"limit": 3}, headers=headers)).json()
        assert [v["id"] for v in first["items"]] == expected[:3]
        second = (
            await client.get(
                path, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
            )
        ).json()
        assert [v["id"] for v in second["items"]] == expected[3:]
        assert second["next_cursor"] is None

        current = (await client.get(f"/v1/ip-assets/{ip_asset.id}", headers=headers)).json()
        assert current["current_valuation"]["id"] == expected[0]

    async def test_asset_without_valuations(self, client, key_for, asset):
        ip_asset = await asset()
        response = await client.get(
            f"/v1/ip-assets/{ip_asset.id}/valuations", headers=await key_for("admin")
        )
        assert response.json() == {"items": [], "next_cursor": None}
