"""The subsidy report: per programme in force during the period, its budget, the claims whose
basis date lies in it by state, and what the budget has left; bureaus see their district's."""

from tests.factories import at
from tests.lifecycle import disbursed
from tests.reports.helpers import report
from tests.subsidies.test_subsidies import _program


async def _claim(desk, clock, bureau, loan, paid_on, interest):
    """Pay ``interest`` on the loan (less than the instalment's interest, so it is all
    interest): the programme's claim is half of it."""
    clock.set(at(f"{paid_on}T10:00:00+08:00"))
    response = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": paid_on, "amount": interest},
        headers=desk.officer,
    )
    assert response.status_code == 201, response.text
    claims = await desk.client.get("/v1/subsidy-claims", headers=bureau)
    return claims.json()["items"][0]


async def _decide(desk, bureau, claim, outcome, paid_on=None):
    body = {"outcome": outcome, "reason": None if outcome == "approved" else "not eligible"}
    response = await desk.client.post(
        f"/v1/subsidy-claims/{claim['id']}/decision", json=body, headers=bureau
    )
    assert response.status_code == 200, response.text
    if paid_on:
        response = await desk.client.post(
            f"/v1/subsidy-claims/{claim['id']}/payment", json={"paid_on": paid_on}, headers=bureau
        )
        assert response.status_code == 200, response.text


async def _programmes(desk, conn, clock, make_key):
    """Longgang's programme with claims of 500 (approved), 300 (rejected), 200 (paid) and
    100 (pending) in April and 50 (pending) in May; Nanshan's with none; Longgang's of 2025."""
    longgang = await _program(desk)
    nanshan = await _program(
        desk, district_code="440305", kind="risk_compensation", annual_budget="500000.00"
    )
    await _program(
        desk,
        name="Longgang 2025",
        budget_year=2025,
        effective_from="2025-01-01",
        effective_to=None,  # still ends with its budget year
    )
    bureau = await make_key("district_bureau", "440307")
    loan = await disbursed(
        desk, conn, clock, method="interest_only_bullet", amount="5000000.00", value="9000000.00"
    )
    await _decide(
        desk, bureau, await _claim(desk, clock, bureau, loan, "2026-04-10", "1000.00"), "approved"
    )
    await _decide(
        desk, bureau, await _claim(desk, clock, bureau, loan, "2026-04-10", "600.00"), "rejected"
    )
    claim = await _claim(desk, clock, bureau, loan, "2026-04-13", "400.00")
    await _decide(desk, bureau, claim, "approved", paid_on="2026-04-13")
    await _claim(desk, clock, bureau, loan, "2026-04-30", "200.00")
    await _claim(desk, clock, bureau, loan, "2026-05-11", "100.00")
    return longgang, nanshan, bureau


LONGGANG_APRIL = {
    "district_code": "440307",
    "kind": "interest_subsidy",
    "name": "Longgang IP loan interest subsidy 2026",
    "budget_year": 2026,
    "budget": "1000000.00",
    "claims": 4,
    "claimed": "1100.00",
    "pending": "100.00",
    "approved": "700.00",
    "rejected": "300.00",
    "paid": "200.00",
    "remaining": "999150.00",  # 1,000,000 − (500 + 200 + 100 + 50): the May claim too
}


class TestFigures:
    async def test_per_programme_and_total(self, desk, conn, clock, make_key):
        longgang, nanshan, _ = await _programmes(desk, conn, clock, make_key)
        body = await report(desk.client, "subsidies", desk.admin, "2026-04-01", "2026-04-30")
        assert body["district_code"] is None
        # By district: Nanshan (440305) before Longgang (440307); 2025's programme is not in force.
        assert [p["program_id"] for p in body["programs"]] == [nanshan["id"], longgang["id"]]
        assert body["programs"][1] == {**LONGGANG_APRIL, "program_id": longgang["id"]}
        assert body["programs"][0]["claims"] == 0
        assert body["programs"][0]["claimed"] == body["programs"][0]["paid"] == "0.00"
        assert body["programs"][0]["remaining"] == body["programs"][0]["budget"] == "500000.00"
        assert body["total"] == {
            "budget": "1500000.00",
            "claims": 4,
            "claimed": "1100.00",
            "pending": "100.00",
            "approved": "700.00",
            "rejected": "300.00",
            "paid": "200.00",
            "remaining": "1499150.00",
        }

    async def test_the_whole_year_reconciles_with_the_budget(self, desk, conn, clock, make_key):
        await _programmes(desk, conn, clock, make_key)
        body = await report(desk.client, "subsidies", desk.admin, "2026-01-01", "2026-12-31")
        [_, longgang] = body["programs"]
        assert (longgang["claims"], longgang["claimed"], longgang["pending"]) == (
            5,
            "1150.00",
            "150.00",
        )
        assert longgang["remaining"] == "999150.00"  # budget − (claimed − rejected)

    async def test_claims_are_dated_by_their_basis_date(self, desk, conn, clock, make_key):
        await _programmes(desk, conn, clock, make_key)
        body = await report(desk.client, "subsidies", desk.admin, "2026-05-01", "2026-05-31")
        [_, longgang] = body["programs"]
        assert (longgang["claims"], longgang["claimed"], longgang["pending"]) == (
            1,
            "50.00",
            "50.00",
        )
        assert longgang["approved"] == longgang["paid"] == longgang["rejected"] == "0.00"

    async def test_programmes_of_another_year(self, desk, conn, clock, make_key):
        await _programmes(desk, conn, clock, make_key)
        body = await report(desk.client, "subsidies", desk.admin, "2025-06-01", "2025-06-30")
        assert [p["name"] for p in body["programs"]] == ["Longgang 2025"]
        assert body["total"]["budget"] == "1000000.00" and body["total"]["claims"] == 0


class TestTotals:
    async def test_budgets_at_the_ceiling_add_up_beyond_one_amount(self, desk, make_key):
        # Each budget is the most one amount may be; their total is more, and is still read.
        ceiling = "999999999999999999.99"
        for name in ("Ceiling A", "Ceiling B"):
            await _program(
                desk,
                name=name,
                district_code="440309",
                annual_budget=ceiling,
                cap_per_loan=ceiling,
                cap_per_enterprise_year=ceiling,
            )
        bureau = await make_key("district_bureau", "440309")
        for headers in (desk.admin, bureau):
            body = await report(desk.client, "subsidies", headers, "2026-01-01", "2026-12-31")
            assert body["total"]["budget"] == "1999999999999999999.98"
            assert body["total"]["remaining"] == "1999999999999999999.98"
            assert [p["budget"] for p in body["programs"]] == [ceiling, ceiling]


class TestVisibility:
    async def test_a_bureau_sees_its_districts_programmes_only(self, desk, conn, clock, make_key):
        longgang, nanshan, bureau = await _programmes(desk, conn, clock, make_key)
        own = await report(desk.client, "subsidies", bureau, "2026-04-01", "2026-04-30")
        assert own["district_code"] == "440307"
        assert own["programs"] == [{**LONGGANG_APRIL, "program_id": longgang["id"]}]
        assert own["total"]["budget"] == "1000000.00"
        other = await make_key("district_bureau", "440305")
        theirs = await report(desk.client, "subsidies", other, "2026-04-01", "2026-04-30")
        assert [p["program_id"] for p in theirs["programs"]] == [nanshan["id"]]
        assert theirs["total"]["claims"] == 0

    async def test_bank_roles_see_every_district(self, desk, conn, clock, make_key):
        await _programmes(desk, conn, clock, make_key)
        for headers in (desk.rm, desk.officer, desk.bank, await make_key("securitization")):
            body = await report(desk.client, "subsidies", headers, "2026-04-01", "2026-04-30")
            assert len(body["programs"]) == 2 and body["total"]["claimed"] == "1100.00"
