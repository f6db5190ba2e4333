"""The campaign report: applications received in the period, by industry and by district,
with the approvals, the registered IP pledges and the amount they secure."""

from datetime import date

from app.core.clock import business_date
from tests import factories
from tests.desk import make_desk
from tests.factories import at
from tests.reports.helpers import report

ZERO = {
    "enterprises_served": 0,
    "enterprises_financed": 0,
    "applications": 0,
    "approvals": 0,
    "approved_amount": "0.00",
    "ip_pledges": 0,
    "secured_amount": "0.00",
}


async def _received(desk, clock, when, *, assets=1, amount="5000000.00"):
    clock.set(at(when))
    asset_ids = [await factories.ip_asset(desk.conn, desk.enterprise_id) for _ in range(assets)]
    app = await desk.create(assets=asset_ids, amount=amount)
    return await desk.submit(app)


async def _approved(desk, clock, app, *, approved_amount, register):
    await desk.act(app, "review")
    app = await desk.act(app, "decision", outcome="approved", approved_amount=approved_amount)
    today = business_date(clock.now()).isoformat()
    for pledge in app["pledges"][:register]:
        response = await desk.client.post(
            f"/v1/pledges/{pledge['id']}/registration",
            json={"registration_no": f"Y{pledge['id'][-10:]}", "registered_on": today},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
    return app


async def _campaign(client, make_key, conn, clock):
    """Three enterprises: Longgang AI (one), Nanshan biomedicine (two), Longgang low carbon
    (three), each with its own relationship manager."""
    await factories.lpr(conn, date(2026, 2, 20))
    one = await make_desk(client, make_key, conn, assets=0)
    two = await make_desk(
        client, make_key, conn, assets=0, district="440305", industry="biomedicine"
    )
    three = await make_desk(client, make_key, conn, assets=0, industry="low_carbon")
    # One: approved below the amount asked, both pledges registered.
    app = await _received(one, clock, "2026-03-02T10:00:00+08:00", assets=2)
    await _approved(one, clock, app, approved_amount="4000000.00", register=2)
    # One: approved, its pledge not registered yet.
    app = await _received(one, clock, "2026-03-03T10:00:00+08:00", amount="3000000.00")
    await _approved(one, clock, app, approved_amount="3000000.00", register=0)
    # One: a draft never submitted is not an application yet.
    await one.create(assets=[await factories.ip_asset(conn, one.enterprise_id)])
    # Two: declined; then approved, registered and disbursed.
    app = await _received(two, clock, "2026-03-04T10:00:00+08:00")
    await two.act(app, "review")
    await two.act(app, "decision", outcome="declined", reason="no cash flow")
    app = await _received(two, clock, "2026-03-05T10:00:00+08:00", amount="2500000.00")
    await _approved(two, clock, app, approved_amount="2000000.00", register=1)
    clock.set(at("2026-03-13T10:00:00+08:00"))
    response = await client.post(
        f"/v1/applications/{app['id']}/disbursement",
        json={"disbursed_on": "2026-03-13", "repayment_method": "equal_installment"},
        headers=two.officer,
    )
    assert response.status_code == 201, response.text
    # Three: approved and registered, then withdrawn by the applicant (pledge released).
    app = await _received(three, clock, "2026-03-06T10:00:00+08:00")
    await _approved(three, clock, app, approved_amount="5000000.00", register=1)
    await three.act(app, "withdraw", headers=three.rm, reason="took a grant instead")
    # Three: approved and registered, but received in April.
    app = await _received(three, clock, "2026-04-01T10:00:00+08:00")
    await _approved(three, clock, app, approved_amount="1000000.00", register=1)
    clock.set(at("2026-04-02T10:00:00+08:00"))
    return one, two, three


def _by(rows, key, value):
    [row] = [r for r in rows if r[key] == value]
    return {k: v for k, v in row.items() if k not in ("industry", "district_code", "district_name")}


class TestFigures:
    async def test_totals_by_industry_and_by_district(self, client, make_key, conn, clock):
        one, *_ = await _campaign(client, make_key, conn, clock)
        body = await report(client, "campaign", one.officer, "2026-03-01", "2026-03-31")
        assert body["from"] == "2026-03-01" and body["relationship_manager_id"] is None
        assert body["total"] == {
            "enterprises_served": 3,
            "enterprises_financed": 2,
            "applications": 5,
            "approvals": 3,
            "approved_amount": "9000000.00",
            "ip_pledges": 3,
            "secured_amount": "6000000.00",
        }
        ai = {
            "enterprises_served": 1,
            "enterprises_financed": 1,
            "applications": 2,
            "approvals": 2,
            "approved_amount": "7000000.00",
            "ip_pledges": 2,
            "secured_amount": "4000000.00",
        }
        bio = {
            "enterprises_served": 1,
            "enterprises_financed": 1,
            "applications": 2,
            "approvals": 1,
            "approved_amount": "2000000.00",
            "ip_pledges": 1,
            "secured_amount": "2000000.00",
        }
        carbon = {**ZERO, "enterprises_served": 1, "applications": 1}
        industries = body["by_industry"]
        assert [r["industry"] for r in industries] == [
            "artificial_intelligence",
            "low_altitude_economy",
            "intelligent_driving",
            "electronic_information",
            "biomedicine",
            "low_carbon",
            "other",
        ]
        assert _by(industries, "industry", "artificial_intelligence") == ai
        assert _by(industries, "industry", "biomedicine") == bio
        assert _by(industries, "industry", "low_carbon") == carbon
        assert _by(industries, "industry", "other") == ZERO
        districts = body["by_district"]
        assert [r["district_code"] for r in districts] == [f"4403{n:02d}" for n in range(3, 12)]
        longgang = {
            **ai,
            "enterprises_served": 2,
            "applications": 3,
        }
        assert _by(districts, "district_code", "440307") == longgang
        assert _by(districts, "district_code", "440305") == bio
        assert _by(districts, "district_code", "440303") == ZERO
        [nanshan] = [r for r in districts if r["district_code"] == "440305"]
        assert nanshan["district_name"] == "Nanshan"

    async def test_the_period_is_the_receipt_date(self, client, make_key, conn, clock):
        one, *_ = await _campaign(client, make_key, conn, clock)
        april = await report(client, "campaign", one.officer, "2026-04-01", "2026-04-30")
        assert april["total"] == {
            **ZERO,
            "enterprises_served": 1,
            "enterprises_financed": 1,
            "applications": 1,
            "approvals": 1,
            "approved_amount": "1000000.00",
            "ip_pledges": 1,
            "secured_amount": "1000000.00",
        }
        empty = await report(client, "campaign", one.officer, "2025-03-01", "2025-03-31")
        assert empty["total"] == ZERO
        assert all(r == {**r, **ZERO} for r in empty["by_industry"] + empty["by_district"])


class TestVisibility:
    async def test_a_relationship_manager_counts_their_own_only(
        self, client, make_key, conn, clock
    ):
        one, two, _ = await _campaign(client, make_key, conn, clock)
        mine = await report(client, "campaign", one.rm, "2026-03-01", "2026-03-31")
        assert mine["relationship_manager_id"] == one.rm_id
        assert mine["total"] == {
            "enterprises_served": 1,
            "enterprises_financed": 1,
            "applications": 2,
            "approvals": 2,
            "approved_amount": "7000000.00",
            "ip_pledges": 2,
            "secured_amount": "4000000.00",
        }
        assert _by(mine["by_district"], "district_code", "440305") == ZERO
        theirs = await report(client, "campaign", two.rm, "2026-03-01", "2026-03-31")
        assert theirs["total"]["applications"] == 2
        assert theirs["total"]["approved_amount"] == "2000000.00"
