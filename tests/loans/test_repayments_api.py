"""Repayments: oldest due first, interest before principal, overpayment refused, paid off
releases the pledges; days past due and default."""

import asyncio
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest

from tests.conftest import problem_of, slug
from tests.factories import at
from tests.lifecycle import disbursed


async def _pay(desk, loan, paid_on, amount, expect=201, **extra):
    response = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": paid_on, "amount": amount, **extra},
        headers=desk.officer,
    )
    assert response.status_code == expect, response.text
    posted = response.json()
    if expect == 201:
        # The loan in the answer is the loan as any later read shows it.
        read = await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)
        assert read.json() == posted["loan"]
    return posted


class TestAllocation:
    async def test_partial_payment_pays_interest_first(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_principal", amount="1200000.00")
        first = loan["schedule"][0]
        clock.set(at("2026-04-12T10:00:00+08:00"))
        paid = await _pay(desk, loan, "2026-04-10", "1000.00")
        assert paid["allocation"] == [
            {"seq": 1, "penalty_interest": "0.00", "interest": "1000.00", "principal": "0.00"}
        ]
        assert paid["prepaid_principal"] == "0.00"
        assert paid["loan"]["schedule"][0]["paid_interest"] == "1000.00"
        assert Decimal(first["interest"]) > Decimal("1000.00")
        assert paid["loan"]["outstanding_principal"] == "1200000.00"
        assert paid["loan"]["days_past_due"] == 2

    async def test_exact_instalment_then_the_next_then_prepayment(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_installment", amount="600000.00")
        one, two = loan["schedule"][0], loan["schedule"][1]
        due = Decimal(one["interest"]) + Decimal(one["principal"])
        clock.set(at("2026-04-10T10:00:00+08:00"))
        paid = await _pay(desk, loan, "2026-04-10", f"{due:.2f}")
        assert paid["allocation"] == [
            {
                "seq": 1,
                "penalty_interest": "0.00",
                "interest": one["interest"],
                "principal": one["principal"],
            }
        ]
        assert paid["loan"]["days_past_due"] == 0
        extra = await _pay(desk, loan, "2026-04-10", "10000.00")
        # Instalment 2 (due 10 May) is current: its interest first, then its principal.
        assert extra["allocation"] == [
            {
                "seq": 2,
                "penalty_interest": "0.00",
                "interest": two["interest"],
                "principal": f"{Decimal('10000.00') - Decimal(two['interest']):.2f}",
            }
        ]
        assert extra["prepaid_principal"] == "0.00"
        # The rest of instalment 2 and 100,000.00 more: the 100,000.00 prepays principal and
        # instalments 3.. are re-amortised on what remains, each interest that balance × r / 12.
        rest = Decimal(two["interest"]) + Decimal(two["principal"]) - Decimal("10000.00")
        big = await _pay(desk, loan, "2026-04-10", f"{rest + Decimal('100000.00'):.2f}")
        assert big["prepaid_principal"] == "100000.00"
        after = big["loan"]
        balance = Decimal(after["outstanding_principal"])
        assert balance == Decimal("600000.00") - Decimal(one["principal"]) - Decimal(
            two["principal"]
        ) - Decimal("100000.00")
        # Instalment 3's interest: balance × 0.0385... / 12 at the loan's rate, half-up.
        rate = Decimal(loan["rate_bp"]) / 10000 / 12
        assert Decimal(after["schedule"][2]["interest"]) == (balance * rate).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        assert sum(Decimal(i["principal"]) for i in after["schedule"]) == Decimal("600000.00")
        assert len(after["schedule"]) == len(loan["schedule"])

    async def test_shorten_term_drops_instalments_and_moves_maturity(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_principal", amount="1200000.00")
        one = loan["schedule"][0]
        clock.set(at("2026-04-01T10:00:00+08:00"))
        due = Decimal(one["interest"]) + Decimal(one["principal"])
        paid = await _pay(
            desk,
            loan,
            "2026-04-01",
            f"{due + Decimal('500000.00'):.2f}",
            prepayment_option="shorten_term",
        )
        # 12 × 100,000.00; after the first and 500,000.00 prepaid, 600,000.00 remain: six more
        # instalments of 100,000.00, so the schedule ends with the seventh.
        assert paid["prepayment_option"] == "shorten_term"
        schedule = paid["loan"]["schedule"]
        assert len(schedule) == 7
        assert paid["loan"]["maturity_date"] == schedule[-1]["due_date"]
        assert [i["principal"] for i in schedule[1:]] == ["100000.00"] * 6

    async def test_overpayment_is_422_and_changes_nothing(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
        clock.set(at("2026-04-10T10:00:00+08:00"))
        interest = Decimal(loan["schedule"][0]["interest"])
        limit = interest + Decimal("100000.00")
        response = await desk.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2026-04-10", "amount": f"{limit + Decimal('0.01'):.2f}"},
            headers=desk.officer,
        )
        assert response.status_code == 422 and slug(response) == "overpayment"
        assert problem_of(response)["payoff_amount"] == f"{limit:.2f}"
        unchanged = (await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)).json()
        assert unchanged["version"] == loan["version"]
        assert all(i["paid_interest"] == "0.00" for i in unchanged["schedule"])

    async def test_paying_everything_pays_off_and_releases_pledges(self, desk, conn, clock):
        loan = await disbursed(
            desk, conn, clock, method="interest_only_bullet", amount="100000.00", assets=2
        )
        clock.set(at("2026-04-10T10:00:00+08:00"))
        interest = Decimal(loan["schedule"][0]["interest"])
        paid = await _pay(desk, loan, "2026-04-10", f"{interest + Decimal('100000.00'):.2f}")
        assert paid["loan"]["state"] == "paid_off"
        assert paid["loan"]["outstanding_principal"] == "0.00"
        assert paid["loan"]["paid_off_on"] == "2026-04-10"
        app = await desk.get(loan["application_id"])
        assert {p["state"] for p in app["pledges"]} == {"released"}
        types = [
            r["type"]
            for r in await conn.fetch(
                "SELECT type FROM outbox_events WHERE data->>'loan_id' = $1 "
                "OR data->>'application_id' = $2 ORDER BY id",
                loan["id"],
                loan["application_id"],
            )
        ]
        assert "loan.paid_off" in types and types.count("pledge.released") == 2
        await _pay(desk, loan, "2026-04-10", "1.00", expect=409)

    @pytest.mark.parametrize("paid_on", ["2026-03-09", "2026-04-11"])
    async def test_value_dates(self, desk, conn, clock, paid_on):
        loan = await disbursed(desk, conn, clock)  # disbursed 10 March
        clock.set(at("2026-04-10T10:00:00+08:00"))
        await _pay(desk, loan, paid_on, "100.00", expect=422)

    async def test_repayments_are_posted_in_value_date_order(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock)
        clock.set(at("2026-05-20T10:00:00+08:00"))
        await _pay(desk, loan, "2026-05-10", "100.00")
        await _pay(desk, loan, "2026-04-10", "100.00", expect=422)
        await _pay(desk, loan, "2026-05-10", "100.00")

    async def test_if_match_names_the_version_posted_against(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock)
        clock.set(at("2026-04-10T10:00:00+08:00"))
        read = await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)
        tag = read.headers["etag"]

        async def post(if_match: str):
            return await desk.client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": "2026-04-10", "amount": "100.00"},
                headers={**desk.officer, "If-Match": if_match},
            )

        posted = await post(tag)
        assert posted.status_code == 201, posted.text
        assert posted.json()["loan"]["version"] == read.json()["version"] + 1
        # The same tag again is stale now: 412, and nothing is posted.
        stale = await post(tag)
        assert stale.status_code == 412 and slug(stale) == "precondition-failed", stale.text
        after = await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)
        assert after.json() == posted.json()["loan"]
        count = await conn.fetchval(
            "SELECT count(*) FROM loan_repayments WHERE loan_id = $1", loan["id"]
        )
        assert count == 1


class TestDaysPastDueAndDefault:
    async def test_as_of_reads(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_principal")
        clock.set(at("2026-05-01T10:00:00+08:00"))
        first = loan["schedule"][0]
        # Ten days late: penalty interest on the principal first.
        quote = await desk.client.get(
            f"/v1/loans/{loan['id']}", params={"as_of": "2026-04-20"}, headers=desk.officer
        )
        penalty = Decimal(quote.json()["penalty_interest_due"])
        assert penalty > 0
        due = Decimal(first["interest"]) + Decimal(first["principal"]) + penalty
        await _pay(desk, loan, "2026-04-20", f"{due:.2f}")

        async def read(as_of):
            response = await desk.client.get(
                f"/v1/loans/{loan['id']}", params={"as_of": as_of}, headers=desk.officer
            )
            return response.json()

        assert (await read("2026-04-15"))["days_past_due"] == 5  # before it was paid
        assert (await read("2026-04-15"))["schedule"][0]["paid_principal"] == "0.00"
        assert (await read("2026-05-01"))["days_past_due"] == 0
        assert (await read("2026-07-10"))["days_past_due"] == 61  # projected: 10 May unpaid

    async def test_as_of_before_the_disbursement_is_422_as_the_payoff_is(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_principal")
        disbursed_on = date.fromisoformat(loan["disbursed_on"])
        url = f"/v1/loans/{loan['id']}"
        for path, name in ((url, "as_of"), (f"{url}/payoff", "on")):
            before = await desk.client.get(
                path,
                params={name: (disbursed_on - timedelta(days=1)).isoformat()},
                headers=desk.officer,
            )
            assert before.status_code == 422, before.text
            assert problem_of(before)["errors"][0]["loc"] == ["query", name]
        on_the_day = await desk.client.get(
            url, params={"as_of": disbursed_on.isoformat()}, headers=desk.officer
        )
        assert on_the_day.status_code == 200
        assert on_the_day.json()["outstanding_principal"] == loan["principal"]

    async def test_as_of_before_a_back_dated_payoff_shows_the_loan_active(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
        clock.set(at("2026-06-01T10:00:00+08:00"))
        # Posted on 1 June, paid on 20 April (ten days after the first instalment fell due):
        # the payoff quote for that day, paid exactly.
        quote = await desk.client.get(
            f"/v1/loans/{loan['id']}/payoff", params={"on": "2026-04-20"}, headers=desk.officer
        )
        assert quote.status_code == 200, quote.text
        paid = await _pay(desk, loan, "2026-04-20", quote.json()["amount"])
        assert paid["loan"]["state"] == "paid_off"

        async def read(as_of):
            response = await desk.client.get(
                f"/v1/loans/{loan['id']}", params={"as_of": as_of}, headers=desk.officer
            )
            assert response.status_code == 200, response.text
            return response.json()

        before = await read("2026-04-15")
        assert before["state"] == "active" and before["paid_off_on"] is None
        assert before["outstanding_principal"] == "100000.00"
        assert before["days_past_due"] == 5  # the 10 April interest was still unpaid
        for as_of in ("2026-04-20", "2026-05-31"):
            after = await read(as_of)
            assert after["state"] == "paid_off" and after["paid_off_on"] == "2026-04-20"
            assert after["outstanding_principal"] == "0.00" and after["days_past_due"] == 0

    async def test_as_of_before_the_default_shows_the_loan_active(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_installment")
        clock.set(at("2026-07-20T10:00:00+08:00"))
        response = await desk.client.post(
            f"/v1/loans/{loan['id']}/default",
            json={"reason": "silent", "as_of": "2026-07-09"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text

        async def read(as_of):
            response = await desk.client.get(
                f"/v1/loans/{loan['id']}", params={"as_of": as_of}, headers=desk.officer
            )
            return response.json()

        before = await read("2026-07-01")
        assert before["state"] == "active" and before["days_past_due"] == 82
        assert before["defaulted_on"] is None and before["default_reason"] is None
        on = await read("2026-07-09")
        assert on["state"] == "defaulted" and on["defaulted_on"] == "2026-07-09"
        assert on["days_past_due"] == 90

    async def test_a_default_is_not_dated_before_the_latest_repayment(self, desk, conn, clock):
        # Found by racing a repayment against a back-dated default: the repayment committed
        # first, the default (as of a date before it) then too, and the defaulted loan showed a
        # repayment dated after its default. A default, like a repayment, keeps value-date
        # order: not before the latest repayment already posted.
        loan = await disbursed(desk, conn, clock, method="equal_installment", assets=2)
        clock.set(at("2026-07-20T10:00:00+08:00"))
        await _pay(desk, loan, "2026-07-15", "100.00")

        async def declare(as_of):
            return await desk.client.post(
                f"/v1/loans/{loan['id']}/default",
                json={"reason": "silent", "as_of": as_of},
                headers=desk.officer,
            )

        early = await declare("2026-07-09")  # 90 days past due then, but paid on 15 July
        assert early.status_code == 422, early.text
        assert problem_of(early)["errors"][0]["loc"] == ["body", "as_of"]
        read = await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)
        assert read.json()["state"] == "active"
        app = await desk.get(loan["application_id"])
        assert {p["state"] for p in app["pledges"]} == {"registered"}
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_events WHERE action = 'loan.defaulted' "
                "AND entity_id = $1",
                loan["id"],
            )
            == 0
        )
        # On the day of the latest repayment, or after it, the default is declared.
        response = await declare("2026-07-15")
        assert response.status_code == 200, response.text
        assert response.json()["defaulted_on"] == "2026-07-15"

    async def test_default_needs_ninety_days(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock, method="equal_installment", assets=2)
        clock.set(at("2026-07-08T10:00:00+08:00"))  # 10 April unpaid: 89 days
        early = await desk.client.post(
            f"/v1/loans/{loan['id']}/default",
            json={"reason": "silent", "as_of": "2026-07-08"},
            headers=desk.officer,
        )
        assert early.status_code == 409
        assert slug(early) == "default-not-allowed" and early.json()["days_past_due"] == 89
        clock.set(at("2026-07-09T10:00:00+08:00"))
        response = await desk.client.post(
            f"/v1/loans/{loan['id']}/default",
            json={"reason": "silent", "as_of": "2026-07-09"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
        defaulted = response.json()
        assert defaulted["state"] == "defaulted" and defaulted["defaulted_on"] == "2026-07-09"
        app = await desk.get(loan["application_id"])
        assert {p["state"] for p in app["pledges"]} == {"enforced"}
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM outbox_events WHERE type = 'pledge.enforced' "
                "AND data->>'application_id' = $1",
                loan["application_id"],
            )
            == 2
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM outbox_events WHERE type = 'loan.defaulted' "
                "AND data->>'loan_id' = $1",
                loan["id"],
            )
            == 1
        )

    async def test_only_credit_officers_post_and_default(self, desk, conn, clock, make_key):
        loan = await disbursed(desk, conn, clock)
        for who in (desk.rm, desk.bank, desk.admin, await make_key("securitization")):
            response = await desk.client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": "2026-03-10", "amount": "1.00"},
                headers=who,
            )
            assert response.status_code == 403


@pytest.mark.committed
async def test_concurrent_repayments_never_over_allocate(
    live_runtime, make_live_key, live_client, clock
):
    from tests.applications.test_concurrency import _world

    desk = await _world(live_runtime, make_live_key, live_client, clock)
    # Factories write in autocommit here: the API reads them from its own connections.
    async with live_runtime.database.connection() as db:
        loan = await disbursed(
            desk, db.conn, clock, method="interest_only_bullet", amount="100000.00"
        )
    clock.set(at("2026-04-10T10:00:00+08:00"))
    interest = Decimal(loan["schedule"][0]["interest"])
    everything = interest + Decimal("100000.00")
    half = (everything / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    responses = await asyncio.gather(
        *[
            live_client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": "2026-04-10", "amount": f"{half:.2f}"},
                headers=desk.officer,
            )
            for _ in range(4)
        ]
    )
    ok = [r for r in responses if r.status_code == 201]
    assert len(ok) == 2, [(r.status_code, r.text) for r in responses]
    assert all(r.status_code in (201, 409, 422) for r in responses)
    final = (await live_client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)).json()
    paid = sum(
        Decimal(i["paid_interest"]) + Decimal(i["paid_principal"]) for i in final["schedule"]
    )
    assert paid == half * 2
    assert paid <= everything


class TestLargestLoan:
    async def test_a_loan_at_the_ceiling_is_serviced_to_the_fen(self, desk, conn, clock):
        # CNY 1,000,000,000,000.00 (the most an application may ask), bullet at the locked rate:
        # a year overdue, its penalty base in fen-days is about 3.65 x 10^16, well within the
        # 64 bits the schedule keeps; paying the first period's interest late posts and reads.
        loan = await disbursed(
            desk, conn, clock, method="interest_only_bullet", amount="1000000000000.00"
        )
        assert loan["principal"] == "1000000000000.00"
        clock.set(at("2027-04-10T10:00:00+08:00"))
        overdue = (await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)).json()
        assert Decimal(overdue["penalty_interest_due"]) > 0
        interest = loan["schedule"][0]["interest"]
        paid = await _pay(desk, loan, "2027-04-10", interest)
        assert paid["allocation"][0]["seq"] == 1
        assert paid["loan"]["principal"] == "1000000000000.00"

    async def test_one_fen_more_is_refused_and_nothing_is_stored(self, desk, conn):
        before = await conn.fetchval("SELECT count(*) FROM applications")
        body = {
            "enterprise_id": str(desk.enterprise_id),
            "amount": "1000000000000.01",
            "term_months": 12,
            "purpose": "working capital",
            "ip_asset_ids": [str(desk.assets[0])],
        }
        response = await desk.client.post("/v1/applications", json=body, headers=desk.rm)
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"][0]["loc"] == ["body", "amount"]
        assert await conn.fetchval("SELECT count(*) FROM applications") == before
