"""Payoff quotes, penalty interest and risk classes through the API, and the class changes
announced once each: by a posting, by a default, or by the sweep as days pass."""

from decimal import Decimal

from app.loans import sweep
from tests.conftest import slug
from tests.factories import at
from tests.lifecycle import disbursed


async def _classes(conn, loan_id: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT data->>'classification' AS cls, data->>'reason' AS reason FROM outbox_events
           WHERE type = 'loan.classification_changed' AND data->>'loan_id' = $1 ORDER BY id""",
        loan_id,
    )
    return [(r["cls"], r["reason"]) for r in rows]


async def _sweep(runtime) -> None:
    await sweep.classification_sweep(runtime)


async def _read(desk, loan, **params):
    response = await desk.client.get(f"/v1/loans/{loan['id']}", params=params, headers=desk.officer)
    assert response.status_code == 200, response.text
    return response.json()


class TestPayoff:
    async def test_quote_and_paying_it(self, desk, conn, clock):
        # 100,000.00 interest only, disbursed 10 March; the rate is the application's.
        loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
        clock.set(at("2026-03-30T10:00:00+08:00"))
        response = await desk.client.get(f"/v1/loans/{loan['id']}/payoff", headers=desk.officer)
        assert response.status_code == 200, response.text
        quote = response.json()
        # Today, 30 March: 20 days since disbursement at rate / 360 a day on 100,000.00.
        daily = Decimal("100000.00") * loan["rate_bp"] / 10000 / 360
        accrued = (daily * 20).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert quote["on"] == "2026-03-30"
        assert quote["accrued_interest"] == f"{accrued:.2f}"
        assert quote["outstanding_principal"] == "100000.00"
        assert quote["overdue_principal"] == quote["overdue_interest"] == "0.00"
        assert quote["amount"] == f"{Decimal('100000.00') + accrued:.2f}"
        paid = await desk.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2026-03-30", "amount": quote["amount"]},
            headers=desk.officer,
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["loan"]["state"] == "paid_off"
        assert paid.json()["allocation"][0]["interest"] == f"{accrued:.2f}"

    async def test_dates_and_visibility(self, desk, conn, clock):
        loan = await disbursed(desk, conn, clock)  # 10 March
        clock.set(at("2026-04-10T10:00:00+08:00"))
        url = f"/v1/loans/{loan['id']}/payoff"
        early = await desk.client.get(url, params={"on": "2026-03-09"}, headers=desk.officer)
        assert early.status_code == 422 and slug(early) == "validation-error"
        ahead = await desk.client.get(url, params={"on": "2026-06-01"}, headers=desk.officer)
        assert ahead.status_code == 200  # a future date projects the loan
        assert (await desk.client.get(url, headers=desk.rm)).status_code == 200
        assert (await desk.client.get(url, headers=desk.other_rm)).status_code == 404
        assert (await desk.client.get(url, headers=desk.bank)).status_code == 200


class TestClassification:
    async def test_each_change_is_announced_once(self, desk, conn, clock, runtime):
        loan = await disbursed(desk, conn, clock, method="equal_principal")
        # Instalment 1 falls due on 10 April; on 20 April it is 10 days past due.
        clock.set(at("2026-04-20T10:00:00+08:00"))
        view = await _read(desk, loan)
        assert (view["days_past_due"], view["classification"]) == (10, "special_mention")
        assert Decimal(view["penalty_interest_due"]) > 0
        await _sweep(runtime)
        await _sweep(runtime)
        assert await _classes(conn, loan["id"]) == [("special_mention", "days_past_due")]
        # Paid up, with its penalty: the posting announces the return to normal itself.
        first = view["schedule"][0]
        owed = (
            Decimal(first["principal"])
            + Decimal(first["interest"])
            + Decimal(view["penalty_interest_due"])
        )
        paid = await desk.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2026-04-20", "amount": f"{owed:.2f}"},
            headers=desk.officer,
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["loan"]["classification"] == "normal"
        await _sweep(runtime)
        assert await _classes(conn, loan["id"]) == [
            ("special_mention", "days_past_due"),
            ("normal", "repayment"),
        ]

    async def test_default_and_the_passing_of_days(self, desk, conn, clock, runtime):
        loan = await disbursed(desk, conn, clock, method="equal_installment")
        # Nothing paid: 10 April is 91 days before 10 July, when it becomes substandard.
        clock.set(at("2026-07-09T10:00:00+08:00"))
        await _sweep(runtime)
        assert await _classes(conn, loan["id"]) == [("special_mention", "days_past_due")]
        response = await desk.client.post(
            f"/v1/loans/{loan['id']}/default",
            json={"reason": "silent", "as_of": "2026-07-09"},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
        assert response.json()["classification"] == "substandard"
        clock.set(at("2026-07-10T10:00:00+08:00"))  # 91 days: substandard already
        await _sweep(runtime)
        # 271 days after 10 April 2026 is 6 January 2027: doubtful.
        clock.set(at("2027-01-05T10:00:00+08:00"))
        await _sweep(runtime)
        clock.set(at("2027-01-06T10:00:00+08:00"))
        await _sweep(runtime)
        await _sweep(runtime)
        assert await _classes(conn, loan["id"]) == [
            ("special_mention", "days_past_due"),
            ("substandard", "default"),
            ("doubtful", "days_past_due"),
        ]
        # Any date's view shows that date's class.
        assert (await _read(desk, loan, as_of="2026-04-10"))["classification"] == "normal"
        assert (await _read(desk, loan, as_of="2026-04-11"))["classification"] == "special_mention"
        assert (await _read(desk, loan, as_of="2027-04-06"))["classification"] == "loss"


class TestStoredEqualsReplay:
    async def test_the_stored_schedule_is_the_replay_of_the_repayments(self, desk, conn, clock):
        from app.config import Settings
        from app.loans import rows
        from app.loans.servicing import replay

        loan = await disbursed(desk, conn, clock, method="equal_installment", amount="900000.00")
        clock.set(at("2026-07-01T10:00:00+08:00"))
        first = loan["schedule"][0]
        level = Decimal(first["principal"]) + Decimal(first["interest"])
        # On time, late (with penalty owing), early with a prepayment shortening the term, and
        # a part payment.
        for paid_on, amount, option in (
            ("2026-04-10", level, "reduce_installment"),
            ("2026-05-20", level, "reduce_installment"),
            ("2026-06-05", level * 3, "shorten_term"),
            ("2026-06-30", Decimal("1234.56"), "reduce_installment"),
        ):
            response = await desk.client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={
                    "paid_on": paid_on,
                    "amount": f"{amount:.2f}",
                    "prepayment_option": option,
                },
                headers=desk.officer,
            )
            assert response.status_code == 201, response.text
        row = await conn.fetchrow(
            "SELECT principal, rate_bp, repayment_method, term_months, disbursed_on "
            "FROM loans WHERE id = $1::uuid",
            loan["id"],
        )
        records = await conn.fetch(
            "SELECT paid_on, amount, prepayment_option FROM loan_repayments "
            "WHERE loan_id = $1::uuid ORDER BY paid_on, created_at, id",
            loan["id"],
        )
        schedule, _ = replay(rows.terms(row, Settings().penalty_uplift), rows.repayments(records))
        view = await _read(desk, loan)
        assert len(view["schedule"]) < len(loan["schedule"])  # the term was shortened
        assert [
            (i["seq"], i["principal"], i["interest"], i["paid_principal"], i["paid_interest"])
            for i in view["schedule"]
        ] == [
            (
                i.seq,
                f"{Decimal(i.principal) / 100:.2f}",
                f"{Decimal(i.interest) / 100:.2f}",
                f"{Decimal(i.paid_principal) / 100:.2f}",
                f"{Decimal(i.paid_interest) / 100:.2f}",
            )
            for i in schedule
        ]
        # And a read as of a date between postings replays up to it: on 1 June the late May
        # payment is in, the June prepayment is not.
        june = await _read(desk, loan, as_of="2026-06-01")
        assert len(june["schedule"]) == len(loan["schedule"])
        assert june["schedule"][1]["paid_interest"] == loan["schedule"][1]["interest"]
