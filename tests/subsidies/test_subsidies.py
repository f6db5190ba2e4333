"""District programmes and claims: interest subsidies on interest payments, risk compensation
on default, within caps and budget; bureaus see and decide only their own district's."""

import asyncio
from decimal import Decimal

import pytest

from tests.conftest import problem_of, slug
from tests.factories import at
from tests.lifecycle import disbursed

PROGRAM = {
    "district_code": "440307",
    "kind": "interest_subsidy",
    "name": "Longgang IP loan interest subsidy 2026",
    "share": "0.50",
    "cap_per_loan": None,
    "cap_per_enterprise_year": None,
    "annual_budget": "1000000.00",
    "budget_year": 2026,
    "effective_from": "2026-01-01",
    "effective_to": "2026-12-31",
}


async def _program(desk, **overrides):
    response = await desk.client.post(
        "/v1/subsidy-programs", json={**PROGRAM, **overrides}, headers=desk.admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _pay(desk, loan, paid_on, amount, expect=201, headers=None):
    response = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": paid_on, "amount": amount},
        headers=headers or desk.officer,
    )
    assert response.status_code == expect, response.text
    return response.json()


async def _claims(desk, headers, **params):
    response = await desk.client.get("/v1/subsidy-claims", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestProgrammes:
    async def test_create_and_read(self, desk, make_key):
        program = await _program(desk)
        assert program["share"] == "0.5000" and program["committed"] == "0.00"
        assert program["remaining"] == "1000000.00"
        bureau = await make_key("district_bureau", "440307")
        got = await desk.client.get(f"/v1/subsidy-programs/{program['id']}", headers=bureau)
        assert got.status_code == 200
        other = await make_key("district_bureau", "440305")
        hidden = await desk.client.get(f"/v1/subsidy-programs/{program['id']}", headers=other)
        assert hidden.status_code == 404
        listed = await desk.client.get("/v1/subsidy-programs", headers=other)
        assert program["id"] not in [p["id"] for p in listed.json()["items"]]

    @pytest.mark.parametrize(
        "override",
        [
            {"share": "0"},
            {"share": "1.01"},
            {"share": "0.12345"},
            {"district_code": "440399"},
            {"annual_budget": "-1.00"},
            {"kind": "grant"},
            {"effective_to": "2025-12-31"},
            {"industries": ["fintech"]},
            {"budget": "1"},
        ],
    )
    async def test_bad_programmes_are_422(self, desk, override):
        response = await desk.client.post(
            "/v1/subsidy-programs", json={**PROGRAM, **override}, headers=desk.admin
        )
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"] or override.get("district_code")

    @pytest.mark.parametrize("role", ["bank_system", "credit_officer", "securitization"])
    async def test_only_admins_define_programmes(self, desk, make_key, role):
        response = await desk.client.post(
            "/v1/subsidy-programs", json=PROGRAM, headers=await make_key(role)
        )
        assert response.status_code == 403


class TestInterestSubsidy:
    async def test_claim_for_each_interest_payment(self, desk, conn, clock, make_key):
        program = await _program(desk)
        loan = await disbursed(
            desk, conn, clock, method="interest_only_bullet", amount="1200000.00"
        )
        interest = Decimal(loan["schedule"][0]["interest"])
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", f"{interest:.2f}")
        bureau = await make_key("district_bureau", "440307")
        [claim] = await _claims(desk, bureau, program_id=program["id"])
        expected = (interest * Decimal("0.5")).quantize(Decimal("0.01"))
        assert claim["kind"] == "interest_subsidy"
        assert claim["basis_amount"] == f"{interest:.2f}"
        assert claim["amount"] == f"{expected:.2f}" and claim["limited_by"] is None
        assert claim["state"] == "pending" and claim["loan_id"] == loan["id"]
        event = await conn.fetchrow(
            "SELECT * FROM outbox_events WHERE type = "
            "'subsidy.claim.created' AND data->>'claim_id' = $1",
            claim["id"],
        )
        assert event["district_code"] == "440307"
        # The next instalment's interest (the current instalment's, paid early) earns a claim;
        # then, that interest paid, a principal-only payment earns nothing.
        await _pay(desk, loan, "2026-04-10", f"{interest:.2f}")
        assert len(await _claims(desk, bureau, program_id=program["id"])) == 2
        await _pay(desk, loan, "2026-04-10", "1000.00")
        assert len(await _claims(desk, bureau, program_id=program["id"])) == 2

    async def test_half_fen_rounds_up(self, desk, conn, clock, make_key):
        await _program(desk, share="0.5")
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "0.01")  # interest of 0.01 × 0.5 = 0.005
        [claim] = await _claims(desk, desk.admin)
        assert claim["amount"] == "0.01" and claim["computed_amount"] == "0.01"

    @pytest.mark.parametrize(
        "overrides,limited_by,amount",
        [
            ({"cap_per_loan": "100.00"}, "cap_per_loan", "100.00"),
            ({"cap_per_enterprise_year": "150.00"}, "cap_per_enterprise_year", "150.00"),
            ({"annual_budget": "120.00"}, "budget", "120.00"),
        ],
    )
    async def test_limits_reduce_and_are_recorded(
        self, desk, conn, clock, overrides, limited_by, amount
    ):
        program = await _program(desk, **overrides)
        loan = await disbursed(
            desk, conn, clock, method="interest_only_bullet", amount="1200000.00"
        )
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "1000.00")  # earns 500.00 uncapped
        [claim] = await _claims(desk, desk.admin, program_id=program["id"])
        assert claim["computed_amount"] == "500.00"
        assert (claim["limited_by"], claim["amount"]) == (limited_by, amount)

    async def test_nothing_left_no_claim_and_exhaustion_once(self, desk, conn, clock):
        program = await _program(desk, annual_budget="100.00")
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        for _ in range(3):
            await _pay(desk, loan, "2026-04-10", "300.00")
        claims = await _claims(desk, desk.admin, program_id=program["id"])
        assert [c["amount"] for c in claims] == ["100.00"]
        exhausted = await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE type = 'subsidy.budget_exhausted' "
            "AND data->>'program_id' = $1",
            program["id"],
        )
        assert exhausted == 1
        got = (
            await desk.client.get(f"/v1/subsidy-programs/{program['id']}", headers=desk.admin)
        ).json()
        assert got["committed"] == "100.00" and got["remaining"] == "0.00"

    async def test_an_empty_budget_is_announced_when_a_cap_is_used_up_too(self, desk, conn, clock):
        # The first claim takes the whole budget and the whole per-loan cap at once; the next
        # interest payment finds nothing left of either. The budget is exhausted all the same.
        program = await _program(desk, annual_budget="100.00", cap_per_loan="100.00")
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "300.00")
        await _pay(desk, loan, "2026-04-10", "300.00")
        claims = await _claims(desk, desk.admin, program_id=program["id"])
        assert [c["amount"] for c in claims] == ["100.00"]
        exhausted = await conn.fetch(
            "SELECT data FROM outbox_events WHERE type = 'subsidy.budget_exhausted' "
            "AND data->>'program_id' = $1",
            program["id"],
        )
        assert len(exhausted) == 1

    async def test_a_used_up_cap_with_budget_left_announces_nothing(self, desk, conn, clock):
        program = await _program(desk, annual_budget="1000.00", cap_per_loan="100.00")
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "300.00")
        await _pay(desk, loan, "2026-04-10", "300.00")
        assert [c["amount"] for c in await _claims(desk, desk.admin)] == ["100.00"]
        exhausted = await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE type = 'subsidy.budget_exhausted' "
            "AND data->>'program_id' = $1",
            program["id"],
        )
        assert exhausted == 0

    async def test_other_district_or_industry_earns_nothing(self, desk, conn, clock):
        await _program(desk, district_code="440305")
        await _program(desk, industries=["biomedicine"])
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "100.00")
        assert await _claims(desk, desk.admin) == []


class TestProgrammeVersion:
    async def test_what_claims_commit_moves_the_version_and_etag(self, desk, conn, clock, make_key):
        program = await _program(desk, annual_budget="1000.00")
        url = f"/v1/subsidy-programs/{program['id']}"
        bureau = await make_key("district_bureau", "440307")

        async def read():
            response = await desk.client.get(url, headers=bureau)
            assert response.status_code == 200, response.text
            body = response.json()
            assert response.headers["etag"] == f'"{body["version"]}"'
            return body

        created = await read()
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "400.00")
        claimed = await read()
        assert claimed["committed"] != created["committed"]
        assert claimed["version"] > created["version"]
        [claim] = await _claims(desk, bureau, program_id=program["id"])
        rejected = await desk.client.post(
            f"/v1/subsidy-claims/{claim['id']}/decision",
            json={"outcome": "rejected", "reason": "late filing"},
            headers=bureau,
        )
        assert rejected.status_code == 200, rejected.text
        given_back = await read()
        assert given_back["committed"] == "0.00"
        assert given_back["version"] > claimed["version"]


class TestDecisions:
    async def test_approve_pay_reject_and_budget_given_back(self, desk, conn, clock, make_key):
        program = await _program(desk, annual_budget="1000.00")
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "400.00")
        await _pay(desk, loan, "2026-04-10", "400.00")
        bureau = await make_key("district_bureau", "440307")
        first, second = await _claims(desk, bureau, program_id=program["id"])
        approved = await desk.client.post(
            f"/v1/subsidy-claims/{first['id']}/decision",
            json={"outcome": "approved"},
            headers=bureau,
        )
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        # Not before the interest payment it subsidises (its basis date): refused, unchanged.
        early = await desk.client.post(
            f"/v1/subsidy-claims/{first['id']}/payment",
            json={"paid_on": "2026-04-09"},
            headers=bureau,
        )
        assert early.status_code == 422, early.text
        assert early.json()["errors"][0]["loc"] == ["body", "paid_on"]
        unchanged = await desk.client.get(f"/v1/subsidy-claims/{first['id']}", headers=bureau)
        assert unchanged.json()["state"] == "approved"
        paid = await desk.client.post(
            f"/v1/subsidy-claims/{first['id']}/payment",
            json={"paid_on": "2026-04-10"},
            headers=bureau,
        )
        assert paid.json()["state"] == "paid" and paid.json()["paid_on"] == "2026-04-10"
        rejected = await desk.client.post(
            f"/v1/subsidy-claims/{second['id']}/decision",
            json={"outcome": "rejected", "reason": "late filing"},
            headers=bureau,
        )
        assert rejected.json()["state"] == "rejected"
        program_now = (
            await desk.client.get(f"/v1/subsidy-programs/{program['id']}", headers=bureau)
        ).json()
        assert program_now["committed"] == "200.00" and program_now["remaining"] == "800.00"
        again = await desk.client.post(
            f"/v1/subsidy-claims/{second['id']}/decision",
            json={"outcome": "approved"},
            headers=bureau,
        )
        assert again.status_code == 409 and slug(again) == "invalid-state-transition"
        types = [
            r["type"]
            for r in await conn.fetch(
                "SELECT type FROM outbox_events WHERE data->>'claim_id' = ANY($1::text[]) "
                "ORDER BY id",
                [first["id"], second["id"]],
            )
        ]
        assert types.count("subsidy.claim.approved") == 1
        assert types.count("subsidy.claim.paid") == 1
        assert types.count("subsidy.claim.rejected") == 1

    async def test_other_district_bureau_sees_404(self, desk, conn, clock, make_key):
        await _program(desk)
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "100.00")
        [claim] = await _claims(desk, desk.admin)
        other = await make_key("district_bureau", "440305")
        for method, path, body in [
            ("GET", f"/v1/subsidy-claims/{claim['id']}", None),
            ("POST", f"/v1/subsidy-claims/{claim['id']}/decision", {"outcome": "approved"}),
        ]:
            response = await desk.client.request(method, path, json=body, headers=other)
            assert response.status_code == 404
        assert await _claims(desk, other) == []
        for role in ("bank_system", "credit_officer", "securitization", "relationship_manager"):
            headers = desk.rm if role == "relationship_manager" else await make_key(role)
            response = await desk.client.get(f"/v1/subsidy-claims/{claim['id']}", headers=headers)
            assert response.status_code == 403

    async def test_reject_needs_reason_and_payment_needs_approval(
        self, desk, conn, clock, make_key
    ):
        await _program(desk)
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, "2026-04-10", "100.00")
        bureau = await make_key("district_bureau", "440307")
        [claim] = await _claims(desk, bureau)
        no_reason = await desk.client.post(
            f"/v1/subsidy-claims/{claim['id']}/decision",
            json={"outcome": "rejected"},
            headers=bureau,
        )
        assert no_reason.status_code == 422
        unpaid = await desk.client.post(
            f"/v1/subsidy-claims/{claim['id']}/payment",
            json={"paid_on": "2026-04-10"},
            headers=bureau,
        )
        assert unpaid.status_code == 409


class TestRiskCompensation:
    async def test_default_creates_a_claim_on_outstanding_principal(self, desk, conn, clock):
        program = await _program(
            desk, kind="risk_compensation", share="0.30", cap_per_loan="1000000.00"
        )
        loan = await disbursed(
            desk, conn, clock, method="interest_only_bullet", amount="5000000.00"
        )
        clock.set(at("2026-07-09T10:00:00+08:00"))
        response = await desk.client.post(
            f"/v1/loans/{loan['id']}/default",
            json={"reason": "silent", "as_of": "2026-07-09"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
        [claim] = await _claims(desk, desk.admin, program_id=program["id"])
        assert claim["kind"] == "risk_compensation"
        assert claim["basis_amount"] == "5000000.00" and claim["computed_amount"] == "1500000.00"
        assert claim["amount"] == "1000000.00" and claim["limited_by"] == "cap_per_loan"


@pytest.mark.committed
async def test_budget_holds_under_concurrent_repayments_and_defaults(
    live_runtime, make_live_key, live_client, clock
):
    from tests.applications.test_concurrency import _world

    desk = await _world(live_runtime, make_live_key, live_client, clock)
    interest_program = await _program(desk, annual_budget="700.00")
    risk_program = await _program(desk, kind="risk_compensation", annual_budget="900.00")
    loans = []
    async with live_runtime.database.connection() as db:
        for _ in range(6):
            loans.append(
                await disbursed(
                    desk, db.conn, clock, method="interest_only_bullet", amount="100000.00"
                )
            )
    clock.set(at("2026-07-09T10:00:00+08:00"))
    calls = []
    for loan in loans[:4]:
        for _ in range(3):
            calls.append(
                live_client.post(
                    f"/v1/loans/{loan['id']}/repayments",
                    json={"paid_on": "2026-07-09", "amount": "300.00"},
                    headers=desk.officer,
                )
            )
    for loan in loans[4:]:
        calls.append(
            live_client.post(
                f"/v1/loans/{loan['id']}/default",
                json={"reason": "silent", "as_of": "2026-07-09"},
                headers=desk.officer,
            )
        )
    responses = await asyncio.gather(*calls)
    assert all(r.status_code in (200, 201, 409) for r in responses), [
        (r.status_code, r.text) for r in responses if r.status_code not in (200, 201, 409)
    ]
    async with live_runtime.database.connection() as db:
        for program, budget in ((interest_program, "700.00"), (risk_program, "900.00")):
            total = await db.fetchval(
                "SELECT coalesce(sum(amount), 0) FROM subsidy_claims WHERE program_id = $1 "
                "AND state IN ('pending', 'approved', 'paid')",
                program["id"],
            )
            committed = await db.fetchval(
                "SELECT committed FROM subsidy_programs WHERE id = $1", program["id"]
            )
            assert total == committed <= Decimal(budget)
            assert total == Decimal(budget)  # the budget was oversubscribed and is used up
