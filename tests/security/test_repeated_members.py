"""A list of choices (industries) is a set: a body repeating one choice a hundred thousand times
(within the 1 MB limit) was stored as sent, and every later read of the pool or programme, and
every list page holding it, carried the 800 KB again. Repeats are read once, on the way in and
on the way out (so a list stored before is read the same way)."""

from __future__ import annotations

from tests.subsidies.test_subsidies import PROGRAM

REPEATS = 20_000


async def test_a_pools_industries_are_read_once(client, make_key, conn):
    desk = await make_key("securitization")
    response = await client.post(
        "/v1/pools",
        json={
            "name": "repeats",
            "cut_off_date": "2026-03-31",
            "target_balance": "1000000.00",
            "criteria": {"industries": ["other", "biomedicine"] * REPEATS + ["other"]},
        },
        headers=desk,
    )
    assert response.status_code == 201, response.text
    assert response.json()["criteria"]["industries"] == ["other", "biomedicine"]
    assert len(response.content) < 5_000
    stored = await conn.fetchval(
        "SELECT length(criteria::text) FROM pools WHERE id = $1::uuid", response.json()["id"]
    )
    assert stored < 500
    listed = await client.get("/v1/pools", headers=desk)
    assert listed.json()["items"][0]["criteria"]["industries"] == ["other", "biomedicine"]


async def test_a_programmes_industries_are_read_once(client, make_key, conn):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/subsidy-programs",
        json={**PROGRAM, "industries": ["low_carbon"] * REPEATS},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["industries"] == ["low_carbon"]
    stored = await conn.fetchval(
        "SELECT cardinality(industries) FROM subsidy_programs WHERE id = $1::uuid",
        response.json()["id"],
    )
    assert stored == 1
