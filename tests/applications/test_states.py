"""The state machine: every legal move, every illegal one, and what moves do to pledges."""

import pytest

from tests.conftest import slug
from tests.factories import at

ACTIONS = {
    # action: (who, body, states it is legal from)
    "submit": ("rm", {}, {"draft", "awaiting_information"}),
    "review": ("officer", {}, {"submitted"}),
    "return": ("officer", {"reason": "need more"}, {"submitted", "under_review"}),
    "withdraw": (
        "rm",
        {"reason": "client walked"},
        {"draft", "submitted", "under_review", "awaiting_information", "approved"},
    ),
    "decision": ("officer", {"outcome": "declined", "reason": "no"}, {"under_review"}),
    "disbursement": (
        "officer",
        {"disbursed_on": "2026-03-09", "repayment_method": "equal_installment"},
        {"approved"},
    ),
}

# How to bring a fresh application into each state; approved (priced, its pledges registered)
# and disbursed come from tests/lifecycle.py. Approved is not final (it still becomes
# disbursed), so it may be withdrawn (SPEC 3.3: "withdrawn from any non-final state").
PATHS = {
    "draft": [],
    "submitted": ["submit"],
    "under_review": ["submit", "review"],
    "awaiting_information": ["submit", "return"],
    "declined": ["submit", "review", "decision"],
    "withdrawn": ["withdraw"],
    "approved": None,
    "disbursed": None,
}


async def _bring(desk, conn, clock, state: str) -> dict:
    from tests import factories, lifecycle

    if state == "approved":
        return await lifecycle.approved(desk, conn, clock)
    if state == "disbursed":
        loan = await lifecycle.disbursed(desk, conn, clock, disbursed_on="2026-03-09")
        app = await desk.get(loan["application_id"])
        assert app["state"] == "disbursed"
        return app
    asset = await factories.ip_asset(conn, desk.enterprise_id)
    app = await desk.create(assets=[asset])
    for action in PATHS[state]:
        who, body, _ = ACTIONS[action]
        if action == "submit":
            app = await desk.submit(app)
        else:
            app = await desk.act(app, action, headers=getattr(desk, who), **body)
    assert app["state"] == state
    return app


@pytest.mark.parametrize("state", list(PATHS))
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_every_move(desk, conn, clock, state, action):
    clock.set(at("2026-03-09T10:00:00+08:00"))
    app = await _bring(desk, conn, clock, state)
    who, body, legal_from = ACTIONS[action]
    response = await desk.client.post(
        f"/v1/applications/{app['id']}/{action}", json=body or None, headers=getattr(desk, who)
    )
    if state in legal_from:
        assert response.status_code == (201 if action == "disbursement" else 200), response.text
    else:
        assert response.status_code == 409, response.text
        assert slug(response) == "invalid-state-transition"
        after = await desk.get(app)
        assert after["state"] == state and after["version"] == app["version"]


class TestPledgesFollowTheApplication:
    async def test_submission_proposes_one_pledge_per_asset(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.create(assets=desk.assets[:3])
        submitted = await desk.submit(app)
        assert sorted(p["ip_asset_id"] for p in submitted["pledges"]) == sorted(
            str(a) for a in desk.assets[:3]
        )
        assert {p["state"] for p in submitted["pledges"]} == {"proposed"}
        assert await desk.get(app) == submitted

    async def test_second_application_cannot_pledge_a_live_asset(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        first = await desk.submit(await desk.create(assets=[desk.assets[0]]))
        second = await desk.create(assets=[desk.assets[1], desk.assets[0]])
        response = await desk.client.post(
            f"/v1/applications/{second['id']}/submit", headers=desk.rm
        )
        assert response.status_code == 409
        assert slug(response) == "ip-asset-already-pledged"
        assert response.json()["ip_asset_id"] == str(desk.assets[0])
        # Nothing of the failed submission is left behind.
        left = await desk.get(second)
        assert left["state"] == "draft" and left["pledges"] == [] and left["clocks"] == []
        assert first["pledges"][0]["state"] == "proposed"

    async def test_withdrawing_an_approved_application_releases_its_pledges(
        self, desk, clock, conn
    ):
        from tests.lifecycle import approved

        app = await approved(desk, conn, clock, assets=2)
        assert {p["state"] for p in app["pledges"]} == {"registered"}
        ended = await desk.act(app, "withdraw", headers=desk.rm, reason="client walked")
        assert ended["state"] == "withdrawn"
        assert {p["state"] for p in ended["pledges"]} == {"released"}
        events = await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE type = 'pledge.released' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
        assert events == 2

    @pytest.mark.parametrize("how", ["withdraw", "decline"])
    async def test_withdrawal_or_decline_cancels_and_frees_the_assets(self, desk, clock, how):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create(assets=desk.assets[:2]))
        if how == "withdraw":
            ended = await desk.act(app, "withdraw", headers=desk.rm, reason="client walked")
            assert ended["sla"]["state"] == "withdrawn"
            assert ended["clocks"][0]["stop_reason"] == "withdrawn"
        else:
            await desk.act(app, "review")
            ended = await desk.act(app, "decision", outcome="declined", reason="thin collateral")
            assert ended["decision_reason"] == "thin collateral"
        assert {p["state"] for p in ended["pledges"]} == {"cancelled"}
        again = await desk.submit(await desk.create(assets=desk.assets[:2]))
        assert {p["state"] for p in again["pledges"]} == {"proposed"}


class TestVersions:
    async def test_etag_and_if_match(self, desk, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.create()
        response = await desk.client.get(f"/v1/applications/{app['id']}", headers=desk.rm)
        assert response.headers["etag"] == '"1"'
        stale = await desk.client.post(
            f"/v1/applications/{app['id']}/submit", headers={**desk.rm, "If-Match": '"7"'}
        )
        assert stale.status_code == 412
        assert slug(stale) == "precondition-failed"
        fresh = await desk.client.post(
            f"/v1/applications/{app['id']}/submit", headers={**desk.rm, "If-Match": '"1"'}
        )
        assert fresh.status_code == 200
        assert fresh.headers["etag"] == '"2"' and fresh.json()["version"] == 2

    async def test_every_move_is_audited(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        await desk.act(app, "review")
        await desk.act(app, "return", reason="more")
        actions = await conn.fetch(
            "SELECT action FROM audit_events WHERE entity_id = $1 ORDER BY id", app["id"]
        )
        assert [r["action"] for r in actions] == [
            "application.created",
            "application.submitted",
            "application.review_started",
            "application.returned",
        ]

    async def test_submission_emits_its_event_with_the_district(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        event = await conn.fetchrow(
            "SELECT * FROM outbox_events WHERE type = 'application.submitted' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
        assert event["district_code"] == "440307"
        assert event["data"]["deadline_date"] == "2026-03-12"
