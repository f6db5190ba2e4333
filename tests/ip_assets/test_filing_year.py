"""A patent application number filed in a year still to come is refused (SPEC 3.1): the year
is today's in Asia/Shanghai, by the service's clock, for registration and for search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.identifiers import patent_check_digit
from tests.conftest import problem_of
from tests.ip_assets.conftest import asset_body

# 23:59 on 31 December 2026 in Shenzhen, and a minute later: 1 January 2027 there, while it
# is still 2026 in UTC.
LAST_MINUTE_OF_2026 = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
FIRST_MINUTE_OF_2027 = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def _number(year: int, type_digit: str = "1", serial: int = 1234567) -> str:
    body = f"{year}{type_digit}{serial:07d}"
    return f"{body}.{patent_check_digit(body)}"


async def _register(client, key_for, make_enterprise, number: str, kind="invention_patent"):
    holder = await make_enterprise()
    return await client.post(
        "/v1/ip-assets",
        json=asset_body(holder.id, kind=kind, number=number),
        headers=await key_for("bank_system"),
    )


@pytest.mark.parametrize(
    "kind,type_digit", [("invention_patent", "1"), ("utility_model", "2"), ("design_patent", "3")]
)
async def test_next_years_number_is_422_on_number(
    client, key_for, make_enterprise, clock, conn, kind, type_digit
):
    clock.set(LAST_MINUTE_OF_2026)
    before = await conn.fetchval("SELECT count(*) FROM ip_assets")
    response = await _register(client, key_for, make_enterprise, _number(2027, type_digit), kind)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["errors"][0]["loc"] == ["body", "number"]
    assert "2027" in problem["detail"] and "2026" in problem["detail"]
    assert await conn.fetchval("SELECT count(*) FROM ip_assets") == before


async def test_this_years_number_is_accepted_in_shanghai_time(
    client, key_for, make_enterprise, clock
):
    clock.set(LAST_MINUTE_OF_2026)
    this_year = await _register(client, key_for, make_enterprise, _number(2026, serial=7654321))
    assert this_year.status_code == 201, this_year.text
    clock.set(FIRST_MINUTE_OF_2027)
    new_year = await _register(client, key_for, make_enterprise, _number(2027))
    assert new_year.status_code == 201, new_year.text
    assert new_year.json()["number"] == _number(2027)


async def test_searching_for_next_years_number_is_422(client, key_for, clock):
    clock.set(LAST_MINUTE_OF_2026)
    response = await client.get(
        "/v1/ip-assets",
        params={"kind": "invention_patent", "number": _number(2027)},
        headers=await key_for("bank_system"),
    )
    assert response.status_code == 422, response.text
    assert problem_of(response)["errors"][0]["loc"] == ["query", "number"]
