"""Decisions through the API: approval locks the rate of the quote it names, and each outcome
writes exactly one event, with the decision, or none when the decision is refused."""

from datetime import date
from decimal import Decimal

from tests import factories
from tests.conftest import slug
from tests.factories import at


async def _under_review(desk, conn, clock) -> dict:
    clock.set(at("2026-03-09T10:00:00+08:00"))
    await factories.lpr(conn, date(2026, 2, 20), one_year_bp=300)
    asset = await factories.ip_asset(
        conn, desk.enterprise_id, value=Decimal("20000000.00"), valued_on=date(2026, 1, 5)
    )
    app = await desk.submit(await desk.create(assets=[asset], amount="5000000.00"))
    return await desk.act(app, "review")


async def _quote(desk, app, **body) -> dict:
    response = await desk.client.post(
        f"/v1/applications/{app['id']}/quotes", json=body, headers=desk.officer
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _events(conn, app, event_type) -> list:
    return await conn.fetch(
        "SELECT occurred_at, district_code, data FROM outbox_events "
        "WHERE type = $1 AND data->>'application_id' = $2",
        event_type,
        app["id"],
    )


class TestApproval:
    async def test_naming_a_quote_locks_its_rate_and_emits_one_event(self, desk, conn, clock):
        app = await _under_review(desk, conn, clock)
        named = await _quote(desk, app, spread_bp=150)
        later = await _quote(desk, app, spread_bp=100)
        assert named["rate_bp"] != later["rate_bp"]

        response = await desk.client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "approved", "quote_id": named["id"], "reason": "well covered"},
            headers=desk.officer,
        )

        assert response.status_code == 200, response.text
        decided = response.json()
        assert decided["state"] == "approved"
        assert decided["rate_bp"] == named["rate_bp"]
        assert decided["quote"]["id"] == named["id"]
        assert decided["quote"]["spread_bp"] == 150
        assert decided["quote"]["rate_bp"] == named["rate_bp"]
        assert await desk.get(app, headers=desk.officer) == decided
        # The named quote was locked; no fresh one was taken.
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM application_quotes WHERE application_id = $1", app["id"]
            )
            == 2
        )
        [event] = await _events(conn, app, "application.approved")
        assert event["district_code"] == "440307"
        assert event["data"]["quote_id"] == named["id"]
        assert event["data"]["rate_bp"] == named["rate_bp"]
        assert event["data"]["approved_amount"] == "5000000.00"
        assert event["occurred_at"] == at(decided["decided_at"])
        assert await _events(conn, app, "application.declined") == []

    async def test_a_refused_approval_emits_nothing(self, desk, conn, clock):
        app = await _under_review(desk, conn, clock)
        named = await _quote(desk, app, spread_bp=150)
        response = await desk.client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "approved", "quote_id": named["id"], "approved_amount": "4000000.00"},
            headers=desk.officer,
        )
        assert response.status_code == 422, response.text
        assert await _events(conn, app, "application.approved") == []
        assert (await desk.get(app))["state"] == "under_review"


class TestDecline:
    async def test_a_decline_emits_one_event(self, desk, conn, clock):
        app = await _under_review(desk, conn, clock)
        response = await desk.client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "declined", "reason": "thin collateral"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
        decided = response.json()
        assert decided["state"] == "declined" and decided["rate_bp"] is None
        [event] = await _events(conn, app, "application.declined")
        assert event["data"]["reason"] == "thin collateral"
        assert event["occurred_at"] == at(decided["decided_at"])
        assert await _events(conn, app, "application.approved") == []

    async def test_a_second_decision_emits_nothing_more(self, desk, conn, clock):
        app = await _under_review(desk, conn, clock)
        await desk.act(app, "decision", outcome="declined", reason="thin collateral")
        again = await desk.client.post(
            f"/v1/applications/{app['id']}/decision",
            json={"outcome": "approved"},
            headers=desk.officer,
        )
        assert again.status_code == 409 and slug(again) == "invalid-state-transition"
        assert len(await _events(conn, app, "application.declined")) == 1
        assert await _events(conn, app, "application.approved") == []
