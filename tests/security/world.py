"""A small bank for the security and fuzz tests: a key of every role, and one record of every
kind the API has ids for (an application, its pledge, the loan, a subsidy programme and a
claim of Longgang's, a webhook endpoint and an event, a pool), all made through the API on
the test's rolled-back connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.roles import Role
from tests.desk import Desk, make_desk
from tests.factories import at
from tests.lifecycle import disbursed

DISTRICT = "440307"  # Longgang: the desk's enterprise is there
OTHER_DISTRICT = "440305"  # Nanshan
UNKNOWN_ID = "0190a0a0-0000-7000-8000-000000000000"

PROGRAM = {
    "district_code": DISTRICT,
    "kind": "interest_subsidy",
    "name": "Longgang IP loan interest subsidy 2026",
    "share": "0.50",
    "annual_budget": "1000000.00",
    "budget_year": 2026,
    "effective_from": "2026-01-01",
    "effective_to": "2026-12-31",
}


@dataclass
class World:
    desk: Desk
    keys: dict[Role, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def client(self):
        return self.desk.client


async def _ok(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


async def build_world(client, make_key, conn, clock) -> World:
    desk = await make_desk(client, make_key, conn, district=DISTRICT)
    keys = {
        Role.BANK_SYSTEM: desk.bank,
        Role.RELATIONSHIP_MANAGER: desk.rm,
        Role.CREDIT_OFFICER: desk.officer,
        Role.DISTRICT_BUREAU: await make_key("district_bureau", DISTRICT),
        Role.SECURITIZATION: await make_key("securitization"),
        Role.ADMIN: desk.admin,
    }
    world = World(desk=desk, keys=keys)
    program = await _ok(
        await client.post("/v1/subsidy-programs", json=PROGRAM, headers=desk.admin), 201
    )
    loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
    clock.set(at("2026-04-10T10:00:00+08:00"))
    await _ok(
        await client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2026-04-10", "amount": "100.00"},
            headers=desk.officer,
        ),
        201,
    )
    claims = await _ok(await client.get("/v1/subsidy-claims", headers=desk.admin))
    [claim] = [c for c in claims["items"] if c["loan_id"] == loan["id"]]
    application = await desk.get(loan["application_id"])
    submitted = await desk.submit(await desk.create())
    endpoint = await _ok(
        await client.post(
            "/v1/webhook-endpoints",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["loan.disbursed"]},
            headers=desk.admin,
        ),
        201,
    )
    # A pool when the pools desk can make one; the fuzz test of POST /v1/pools says when not.
    pool = await client.post(
        "/v1/pools",
        json={"name": "Fuzz pool", "cut_off_date": "2026-04-10", "target_balance": "1.00"},
        headers=keys[Role.SECURITIZATION],
    )
    event_id = await conn.fetchval("SELECT id::text FROM outbox_events ORDER BY id DESC LIMIT 1")
    spare_key = await make_key("credit_officer")
    asset = application["ip_asset_ids"][0]
    world.ids = {
        "application_id": submitted["id"],
        "loan_id": loan["id"],
        "pledge_id": application["pledges"][0]["id"],
        "asset_id": asset,
        "enterprise_id": str(desk.enterprise_id),
        "program_id": program["id"],
        "claim_id": claim["id"],
        "endpoint_id": endpoint["id"],
        "event_id": event_id,
        "key_id": spare_key["X-Key-Id"],
        "fixing_date": "2026-02-20",
        "year": "2026",
        "day": "2026-10-10",
    }
    world.records = {
        "loan": loan,
        "disbursed_application": application,
        "submitted_application": submitted,
        "program": program,
        "claim": claim,
        "endpoint": endpoint,
    }
    if pool.status_code == 201:
        world.ids["pool_id"] = pool.json()["id"]
        world.records["pool"] = pool.json()
    return world
