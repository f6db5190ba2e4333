"""A quote or a decision counts only the pledges live at that moment (SPEC 3.4, 3.5): once an
application's only pledge is released during review, neither a new quote nor the price it is
approved at keeps a pledge_coverage or invention_patent discount, and a quote made before the
release can no longer be locked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests import factories
from tests.conftest import problem_of
from tests.factories import at

LPR_BP = 300
SPREAD_BP = 100


async def _under_review_then_released(desk, conn, clock) -> tuple[dict, dict]:
    """An application pledging one invention patent valued at 4× the amount, under review,
    with the quote made then; its pledge registered and then released."""
    clock.set(at("2026-03-09T10:00:00+08:00"))
    await factories.lpr(conn, date(2026, 2, 20), one_year_bp=LPR_BP)
    patent = await factories.ip_asset(
        conn, desk.enterprise_id, value=Decimal("20000000.00"), valued_on=date(2026, 1, 5)
    )
    application = await desk.create(assets=[patent], amount="5000000.00")
    application = await desk.submit(application)
    await desk.act(application, "review")
    before = await _quote(desk, application)
    [pledge] = application["pledges"]
    registered = await desk.client.post(
        f"/v1/pledges/{pledge['id']}/registration",
        json={"registration_no": "Y2026000123", "registered_on": "2026-03-09"},
        headers=desk.officer,
    )
    assert registered.status_code == 200, registered.text
    released = await desk.client.post(
        f"/v1/pledges/{pledge['id']}/release",
        json={"reason": "the enterprise offered other collateral"},
        headers=desk.officer,
    )
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "released"
    return application, before


async def _quote(desk, application) -> dict:
    response = await desk.client.post(
        f"/v1/applications/{application['id']}/quotes", json={}, headers=desk.officer
    )
    assert response.status_code == 201, response.text
    return response.json()


def _bp(quote: dict) -> dict[str, int]:
    return {c["code"]: c["bp"] for c in quote["components"]}


async def test_a_released_pledge_earns_no_discount(desk, conn, clock):
    application, before = await _under_review_then_released(desk, conn, clock)
    # Before the release: 4× coverage (10 bp), an invention patent (5), an AI enterprise (5).
    assert _bp(before) == {
        "pledge_coverage": 10,
        "invention_patent": 5,
        "priority_industry": 5,
        "district_risk_sharing": 0,
    }
    after = await _quote(desk, application)
    assert _bp(after) == {
        "pledge_coverage": 0,
        "invention_patent": 0,
        "priority_industry": 5,
        "district_risk_sharing": 0,
    }
    coverage = next(c for c in after["components"] if c["code"] == "pledge_coverage")
    assert coverage["facts"]["counted"] == coverage["facts"]["not_counted"] == []
    assert after["rate_bp"] == LPR_BP + SPREAD_BP - 5


async def test_approved_with_a_fresh_quote_at_no_pledge_discount(desk, conn, clock):
    application, _ = await _under_review_then_released(desk, conn, clock)
    decided = await desk.act(application, "decision", outcome="approved")
    assert decided["state"] == "approved"
    assert decided["rate_bp"] == LPR_BP + SPREAD_BP - 5  # the priority industry's 5 bp only
    assert (
        _bp(decided["quote"])["pledge_coverage"] == _bp(decided["quote"])["invention_patent"] == 0
    )


async def test_a_quote_made_before_the_release_cannot_be_locked(desk, conn, clock):
    application, before = await _under_review_then_released(desk, conn, clock)
    response = await desk.client.post(
        f"/v1/applications/{application['id']}/decision",
        json={"outcome": "approved", "quote_id": before["id"]},
        headers=desk.officer,
    )
    assert response.status_code == 422, response.text
    assert problem_of(response)["errors"][0]["loc"] == ["body", "quote_id"]
    assert (await desk.get(application))["state"] == "under_review"
