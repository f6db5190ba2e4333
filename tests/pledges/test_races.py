"""Pledge releases racing the moves that make an application a loan, with real commits on
separate connections. Each test holds one side's transaction open at the moment that matters,
sends the other side through the API, and only then lets the first commit: the second must
wait for it and then see what it did."""

import asyncio
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from app.applications import decision as applications_decision
from app.applications.schemas import DecisionBody
from app.core.context import Principal
from app.core.roles import Role
from app.pledges import service as pledges_service
from tests import factories
from tests.applications.test_concurrency import _world
from tests.factories import at
from tests.lifecycle import approved

pytestmark = pytest.mark.committed

# Long enough for a request that is not blocked to finish.
SETTLE_S = 0.5


def _principal(headers: dict[str, str], role: Role) -> Principal:
    return Principal(key_id=UUID(headers["X-Key-Id"]), role=role)


async def _pledge_state(live_runtime, pledge_id: str) -> str:
    async with live_runtime.database.connection() as db:
        return await db.fetchval("SELECT state FROM pledges WHERE id = $1", UUID(pledge_id))


async def test_a_release_committing_during_a_disbursement_stops_it(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    async with live_runtime.database.connection() as db:
        app = await approved(desk, db.conn, clock)
    pledge_id = app["pledges"][0]["id"]
    clock.set(at("2026-03-10T15:00:00+08:00"))

    admin = _principal(desk.admin, Role.ADMIN)
    async with live_runtime.unit_of_work(admin) as ctx:
        released = await pledges_service.release(
            ctx, pledge_id=UUID(pledge_id), reason="collateral substituted"
        )
        assert released.state == "released"  # written, not yet committed
        disbursement = asyncio.create_task(
            live_client.post(
                f"/v1/applications/{app['id']}/disbursement",
                json={"disbursed_on": "2026-03-10", "repayment_method": "equal_installment"},
                headers=desk.officer,
            )
        )
        await asyncio.sleep(SETTLE_S)
        assert not disbursement.done(), disbursement.result().text
    response = await disbursement

    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/pledge-not-registered")
    assert response.json()["pledge_ids"] == [pledge_id]
    async with live_runtime.database.connection() as db:
        loans = await db.fetchval(
            "SELECT count(*) FROM loans WHERE application_id = $1", UUID(app["id"])
        )
        state = await db.fetchval("SELECT state FROM applications WHERE id = $1", UUID(app["id"]))
    assert (loans, state) == (0, "approved")


async def test_an_approval_committing_during_an_officers_release_refuses_it(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    async with live_runtime.database.connection() as db:
        await factories.lpr(db.conn, date(2026, 2, 20))
        asset = await factories.ip_asset(
            db.conn, desk.enterprise_id, value=Decimal("20000000.00"), valued_on=date(2026, 1, 5)
        )
    app = await desk.submit(await desk.create(assets=[asset]))
    await desk.act(app, "review")
    pledge_id = app["pledges"][0]["id"]
    registration = await live_client.post(
        f"/v1/pledges/{pledge_id}/registration",
        json={"registration_no": "Y2026440009999", "registered_on": "2026-03-09"},
        headers=desk.officer,
    )
    assert registration.status_code == 200, registration.text

    officer = _principal(desk.officer, Role.CREDIT_OFFICER)
    async with live_runtime.unit_of_work(officer) as ctx:
        decided = await applications_decision.decide(
            ctx, application_id=UUID(app["id"]), body=DecisionBody(outcome="approved")
        )
        assert decided.state == "approved"  # written, not yet committed
        release = asyncio.create_task(
            live_client.post(
                f"/v1/pledges/{pledge_id}/release",
                json={"reason": "collateral substituted"},
                headers=desk.officer,
            )
        )
        await asyncio.sleep(SETTLE_S)
        assert not release.done(), release.result().text
    response = await release

    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/invalid-state-transition")
    assert response.json()["application_state"] == "approved"
    assert await _pledge_state(live_runtime, pledge_id) == "registered"
