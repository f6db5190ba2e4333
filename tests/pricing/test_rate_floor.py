"""A loan's rate is never below 0 (SPEC 3.4, 3.6): the rate is LPR + spread − a discount of up
to 20 bp, so an LPR under 20 bp with a small spread would price a negative rate. An approval,
which locks its quote's rate as the loan's, refuses one (422, naming the spread or the quote)
and changes nothing; a rate of 0 or more is approved and disbursed as always."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests import factories
from tests.conftest import problem_of
from tests.factories import at


async def _under_review(desk, conn, clock) -> dict:
    clock.set(at("2026-03-09T10:00:00+08:00"))
    await factories.lpr(conn, date(2026, 2, 20), one_year_bp=1)
    asset = await factories.ip_asset(
        conn, desk.enterprise_id, value=Decimal("20000000.00"), valued_on=date(2026, 1, 5)
    )
    app = await desk.submit(await desk.create(assets=[asset], amount="5000000.00"))
    return await desk.act(app, "review")


async def _decide(desk, app: dict, **body) -> object:
    return await desk.client.post(
        f"/v1/applications/{app['id']}/decision",
        json={"outcome": "approved", **body},
        headers=desk.officer,
    )


async def test_a_fresh_quote_below_zero_is_422_on_the_spread(desk, conn, clock):
    app = await _under_review(desk, conn, clock)
    response = await _decide(desk, app, spread_bp=0)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in problem_of(response)["errors"]] == [["body", "spread_bp"]]
    assert (await desk.get(app))["state"] == "under_review"


async def test_a_named_quote_below_zero_is_422_on_the_quote(desk, conn, clock):
    app = await _under_review(desk, conn, clock)
    quote = await desk.client.post(
        f"/v1/applications/{app['id']}/quotes", json={"spread_bp": 0}, headers=desk.officer
    )
    assert quote.status_code == 201, quote.text
    assert quote.json()["rate_bp"] < 0
    response = await _decide(desk, app, quote_id=quote.json()["id"])
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in problem_of(response)["errors"]] == [["body", "quote_id"]]
    assert (await desk.get(app))["state"] == "under_review"


async def test_a_spread_that_keeps_the_rate_at_zero_or_more_is_approved_and_disbursed(
    desk, conn, clock
):
    app = await _under_review(desk, conn, clock)
    response = await _decide(desk, app, spread_bp=19)
    assert response.status_code == 200, response.text
    approved = response.json()
    assert approved["rate_bp"] >= 0
    for pledge in approved["pledges"]:
        registered = await desk.client.post(
            f"/v1/pledges/{pledge['id']}/registration",
            json={"registration_no": "Y2026" + pledge["id"][-8:], "registered_on": "2026-03-09"},
            headers=desk.officer,
        )
        assert registered.status_code == 200, registered.text
    clock.set(at("2026-03-10T15:00:00+08:00"))
    loan = await desk.client.post(
        f"/v1/applications/{app['id']}/disbursement",
        json={"disbursed_on": "2026-03-10", "repayment_method": "equal_installment"},
        headers=desk.officer,
    )
    assert loan.status_code == 201, loan.text
    assert loan.json()["rate_bp"] == approved["rate_bp"]
