"""Pools through the API (SPEC 3.9): eligibility at the cut-off, selection, manual changes
against the limits, lock, transfer and who may do each."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import problem_of, slug
from tests.pools.conftest import NO_LIMITS


async def _outbox(conn, event_type: str, pool_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE type = $1 AND data->>'pool_id' = $2",
        event_type,
        pool_id,
    )


class TestCreate:
    async def test_defaults_and_an_empty_pool(self, book):
        pool = await book.pool("100000000.00")
        assert pool["state"] == "open"
        assert pool["limits"] == {
            "max_obligor_share": "0.1000",
            "max_industry_share": "0.4000",
            "max_district_share": "1.0000",
        }
        assert pool["criteria"]["min_remaining_months"] == 3
        assert pool["stats"]["loan_count"] == 0
        assert pool["stats"]["outstanding_principal"] == "0.00"
        assert pool["stats"]["wa_rate_bp"] is None
        assert pool["last_selection"] is None

    async def test_a_future_cut_off_is_refused(self, book):
        response = await book.desk.client.post(
            "/v1/pools",
            json={"name": "x", "cut_off_date": "2025-02-04", "target_balance": "1.00"},
            headers=book.desk_key,
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "cut_off_date"]

    async def test_bad_limits_and_unknown_fields_are_refused(self, book):
        for limits in ({"max_obligor_share": "1.5"}, {"max_obligor_share": "0"}, {"nope": 1}):
            await book.pool("1000.00", limits=limits, expect=422)
        await book.pool("1000.00", colour="blue", expect=422)
        await book.pool("0.00", expect=422)
        await book.pool(
            "1000.00", criteria={"min_balance": "5.00", "max_balance": "1.00"}, expect=422
        )

    async def test_only_the_desk_creates_and_bank_roles_do_not_read(self, book):
        pool = await book.pool("1000.00")
        body = {"name": "x", "cut_off_date": "2025-01-31", "target_balance": "1.00"}
        for headers in (book.desk.admin, book.desk.officer, book.desk.rm, book.desk.bank):
            response = await book.desk.client.post("/v1/pools", json=body, headers=headers)
            assert response.status_code == 403
        for headers in (book.desk.officer, book.desk.rm, book.desk.bank):
            response = await book.desk.client.get(f"/v1/pools/{pool['id']}", headers=headers)
            assert response.status_code == 403
        response = await book.desk.client.get(f"/v1/pools/{pool['id']}", headers=book.desk.admin)
        assert response.status_code == 200
        response = await book.desk.client.get("/v1/pools/not-an-id", headers=book.desk_key)
        assert response.status_code == 404


class TestSelection:
    async def test_the_largest_first_is_not_the_best(self, book):
        # 6m + 5m + 5m against a 10m target: largest first reaches 6m; the best is 5m + 5m.
        six = await book.loan("6000000.00")
        fives = [await book.loan("5000000.00") for _ in range(2)]
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        result = await book.post(pool, "selection")
        assert result["selected_count"] == 2
        assert result["selected_balance"] == "10000000.00"
        assert result["bound_balance"] == "10000000.00"
        assert Decimal(result["gap"]) == 0
        assert result["optimal"] is True and result["fallback"] is False
        assert result["solver"] == "highs-milp"
        stats = result["pool"]["stats"]
        assert stats["loan_count"] == 2 and stats["outstanding_principal"] == "10000000.00"
        members = await book.conn.fetch(
            "SELECT loan_id::text FROM pool_loans WHERE pool_id = $1", result["pool"]["id"]
        )
        assert {r["loan_id"] for r in members} == {f["id"] for f in fives}
        assert six["id"] not in {r["loan_id"] for r in members}
        pool = await book.get(result["pool"])
        assert pool["last_selection"] == {k: v for k, v in result.items() if k != "pool"}

    async def test_limits_steer_the_selection(self, book):
        # Two obligors: A with 4m and 3m, B with 3m; at most 50% an obligor. Selection measures
        # shares against the pool it builds (so that it can lock as selected): A 4m + B 3m
        # puts A at 57%, all three A at 70%; the best is A 3m + B 3m, A at exactly 50%.
        a = await book.enterprise()
        await book.loan("4000000.00", enterprise=a)
        a3 = await book.loan("3000000.00", enterprise=a)
        b3 = await book.loan("3000000.00")
        limits = {**NO_LIMITS, "max_obligor_share": "0.50"}
        pool = await book.pool("10000000.00", limits=limits)
        result = await book.post(pool, "selection")
        assert result["selected_balance"] == "6000000.00" and result["optimal"] is True
        ids = await book.conn.fetch(
            "SELECT loan_id::text FROM pool_loans WHERE pool_id = $1", pool["id"]
        )
        assert {r["loan_id"] for r in ids} == {a3["id"], b3["id"]}
        assert result["pool"]["stats"]["max_obligor_share"] == "0.5000"
        locked = await book.post(pool, "lock")
        assert locked["state"] == "locked"

    async def test_a_second_selection_replaces_the_first_and_filters_apply(self, book):
        await book.loan("2000000.00", district="440305", industry="biomedicine")
        keep = await book.loan("3000000.00", district="440307", industry="low_carbon")
        pool = await book.pool("50000000.00", limits=NO_LIMITS, criteria={"districts": ["440307"]})
        result = await book.post(pool, "selection")
        assert result["selected_count"] == 1 and result["selected_balance"] == "3000000.00"
        again = await book.post(pool, "selection")
        assert again["selected_count"] == 1
        assert again["pool"]["version"] == result["pool"]["version"] + 1
        row = await book.conn.fetchrow(
            "SELECT count(*) AS n, max(loan_id::text) AS id FROM pool_loans WHERE pool_id = $1",
            pool["id"],
        )
        assert (row["n"], row["id"]) == (1, keep["id"])


class TestBalanceFilters:
    async def test_min_and_max_balance_bound_the_cut_off_balance(self, book):
        small = await book.loan("1000000.00")
        middle = await book.loan("2000000.00")
        large = await book.loan("3000000.00")
        criteria = {"min_balance": "1500000.00", "max_balance": "2000000.00"}
        pool = await book.pool("100000000.00", limits=NO_LIMITS, criteria=criteria)
        result = await book.post(pool, "selection")
        assert result["selected_count"] == 1 and result["selected_balance"] == "2000000.00"
        member = await book.conn.fetchval(
            "SELECT loan_id::text FROM pool_loans WHERE pool_id = $1", pool["id"]
        )
        assert member == middle["id"]
        for loan, reason in ((small, "below 1500000.00"), (large, "above 2000000.00")):
            response = await book.desk.client.post(
                f"/v1/pools/{pool['id']}/loans", json={"loan_id": loan["id"]}, headers=book.desk_key
            )
            assert response.status_code == 409 and slug(response) == "loan-not-eligible"
            assert reason in problem_of(response)["detail"]


class TestEligibilityAtTheCutOff:
    """Loans disbursed on 10 January 2025 with instalments due on the 10th."""

    async def _selected(self, book, cut_off: str) -> int:
        pool = await book.pool("100000000.00", limits=NO_LIMITS, cut_off_date=cut_off)
        return (await book.post(pool, "selection"))["selected_count"]

    async def test_a_loan_one_day_past_due_at_the_cut_off_is_out(self, book):
        await book.loan("1000000.00")  # 10 Feb instalment unpaid
        book.clock.set(book.clock.now().replace(month=2, day=12))
        assert await self._selected(book, "2025-02-10") == 1  # due that day: 0 days past due
        assert await self._selected(book, "2025-02-11") == 0  # 1 day past due

    async def test_a_repayment_after_the_cut_off_does_not_cure_it(self, book):
        loan = await book.loan("1000000.00")
        book.clock.set(book.clock.now().replace(month=2, day=20))
        loan = await book.repay(loan, paid_on="2025-02-15")
        assert loan["days_past_due"] == 0
        # On 12 February the instalment of the 10th was unpaid.
        assert await self._selected(book, "2025-02-12") == 0
        assert await self._selected(book, "2025-02-16") == 1

    async def test_the_cut_off_balance_undoes_later_repayments(self, book):
        loan = await book.loan("1200000.00")
        book.clock.set(book.clock.now().replace(month=2, day=20))
        paid = await book.repay(loan, paid_on="2025-02-10")
        pool = await book.pool("100000000.00", limits=NO_LIMITS, cut_off_date="2025-02-09")
        result = await book.post(pool, "selection")
        assert result["selected_balance"] == "1200000.00"
        response = await book.desk.client.delete(
            f"/v1/pools/{pool['id']}/loans/{loan['id']}", headers=book.desk_key
        )
        assert response.status_code == 200
        assert Decimal(paid["outstanding_principal"]) < Decimal("1200000.00")
        pool = await book.pool("100000000.00", limits=NO_LIMITS, cut_off_date="2025-02-10")
        result = await book.post(pool, "selection")
        assert result["selected_balance"] == paid["outstanding_principal"]

    async def test_terms_and_pledges(self, book):
        # Three instalments after 31 January, but maturity on 10 April: under 3 months away.
        short = await book.loan("1000000.00", term_months=3)
        four = await book.loan("1000000.00", term_months=4)  # matures 10 May: enough
        released = await book.loan("1000000.00")
        rows = await book.conn.fetch(
            "SELECT p.id::text FROM pledges p JOIN loans l ON l.application_id = p.application_id "
            "WHERE l.id = $1",
            released["id"],
        )
        released_pledge = rows[0]["id"]
        response = await book.desk.client.post(
            f"/v1/pledges/{released_pledge}/release",
            json={"reason": "substituted collateral pending"},
            headers=book.desk.admin,
        )
        assert response.status_code == 200, response.text
        pool = await book.pool("100000000.00", limits=NO_LIMITS)
        result = await book.post(pool, "selection")
        assert result["selected_count"] == 1
        for loan, reason in (
            (short, "its maturity 2025-04-10 is less than 3 months after the cut-off"),
            (released, "not every pledge is registered"),
        ):
            response = await book.desk.client.post(
                f"/v1/pools/{pool['id']}/loans", json={"loan_id": loan["id"]}, headers=book.desk_key
            )
            assert response.status_code == 409 and slug(response) == "loan-not-eligible"
            assert reason in problem_of(response)["reasons"]
        member = await book.conn.fetchval(
            "SELECT loan_id::text FROM pool_loans WHERE pool_id = $1", pool["id"]
        )
        assert member == four["id"]

    async def test_months_to_maturity_not_instalments_decide(self, book):
        """Cut off on 20 January: both loans have 3 instalments after it, but one matures 2
        months 26 days later (15 April) and the other exactly 3 months later (20 April)."""
        short = await book.loan("1000000.00", term_months=3, disbursed_on="2025-01-15")
        exact = await book.loan("1000000.00", term_months=3, disbursed_on="2025-01-20")
        assert (short["maturity_date"], exact["maturity_date"]) == ("2025-04-15", "2025-04-20")
        pool = await book.pool("100000000.00", limits=NO_LIMITS, cut_off_date="2025-01-20")
        result = await book.post(pool, "selection")
        assert result["selected_count"] == 1
        assert result["pool"]["stats"]["wa_remaining_months"] == "3.0000"  # still instalments
        member = await book.conn.fetchval(
            "SELECT loan_id::text FROM pool_loans WHERE pool_id = $1", pool["id"]
        )
        assert member == exact["id"]
        response = await book.add(pool, short, expect=409)
        assert response["reasons"] == [
            "its maturity 2025-04-15 is less than 3 months after the cut-off"
        ]
        await book.post(pool, "lock")  # the member passes the same rule in Python

    async def test_a_cut_off_past_the_months_end_clips_to_its_last_day(self, book):
        """Cut off on 31 January, one month: the 28th of February, in SQL and in Python."""
        loan = await book.loan("1000000.00", term_months=1, disbursed_on="2025-01-28")
        assert loan["maturity_date"] == "2025-02-28"
        pool = await book.pool(
            "100000000.00", limits=NO_LIMITS, criteria={"min_remaining_months": 1}
        )
        assert (await book.post(pool, "selection"))["selected_count"] == 1  # the SQL rule
        await book.post(pool, "lock")  # the Python rule agrees


class TestManualChanges:
    async def test_a_share_of_exactly_the_limit_fits_and_a_fen_more_does_not(self, book):
        a = await book.loan("5000000.00")
        b = await book.loan("5000000.01")
        c = await book.loan("5000000.00")
        limits = {**NO_LIMITS, "max_obligor_share": "0.50"}
        pool = await book.pool("10000000.01", limits=limits)
        pool = await book.add(pool, a)  # 5,000,000.00 ≤ 0.50 × 10,000,000.01
        assert pool["stats"]["loan_count"] == 1
        response = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/loans", json={"loan_id": b["id"]}, headers=book.desk_key
        )
        assert response.status_code == 409 and slug(response) == "pool-limit-violated"
        assert "more than 0.5000 of the target" in problem_of(response)["detail"]
        pool = await book.add(pool, c)  # total 10,000,000.00 ≤ target
        assert pool["stats"]["outstanding_principal"] == "10000000.00"
        assert pool["stats"]["max_obligor_share"] == "0.5000"
        d = await book.loan("0.01")
        response = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/loans", json={"loan_id": d["id"]}, headers=book.desk_key
        )
        # 10,000,000.01 is the target itself; but d's obligor is new and within 50%: fits.
        assert response.status_code == 200, response.text
        e = await book.loan("0.01")
        response = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/loans", json={"loan_id": e["id"]}, headers=book.desk_key
        )
        assert response.status_code == 409
        assert "more than its target" in problem_of(response)["detail"]

    async def test_twice_removal_and_unknown_loans(self, book):
        loan = await book.loan("1000000.00")
        pool = await book.pool("100000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)
        again = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/loans", json={"loan_id": loan["id"]}, headers=book.desk_key
        )
        assert again.status_code == 409 and slug(again) == "loan-already-pooled"
        other = await book.pool("100000000.00", limits=NO_LIMITS)
        taken = await book.desk.client.post(
            f"/v1/pools/{other['id']}/loans", json={"loan_id": loan["id"]}, headers=book.desk_key
        )
        assert taken.status_code == 409 and slug(taken) == "loan-already-pooled"
        assert (await book.post(other, "selection"))["selected_count"] == 0
        url = f"/v1/pools/{pool['id']}/loans/{loan['id']}"
        removed = await book.desk.client.delete(url, headers=book.desk_key)
        assert removed.status_code == 200 and removed.json()["stats"]["loan_count"] == 0
        assert (await book.desk.client.delete(url, headers=book.desk_key)).status_code == 404
        unknown = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/loans",
            json={"loan_id": "0190aaaa-0000-7000-8000-000000000000"},
            headers=book.desk_key,
        )
        assert unknown.status_code == 404


class TestLockAndTransfer:
    async def test_lock_measures_the_actual_total_then_freezes(self, book):
        a = await book.loan("5000000.00")
        b = await book.loan("4000000.00")
        limits = {**NO_LIMITS, "max_obligor_share": "0.50"}
        pool = await book.pool("10000000.00", limits=limits)
        await book.add(pool, a)
        await book.add(pool, b)
        refused = await book.desk.client.post(f"/v1/pools/{pool['id']}/lock", headers=book.desk_key)
        assert refused.status_code == 409 and slug(refused) == "pool-limit-violated"
        assert await _outbox(book.conn, "pool.locked", pool["id"]) == 0
        c = await book.loan("1000000.00")
        await book.add(pool, c)
        locked = await book.post(pool, "lock")
        assert locked["state"] == "locked" and locked["locked_at"]
        assert locked["stats"]["max_obligor_share"] == "0.5000"
        assert await _outbox(book.conn, "pool.locked", pool["id"]) == 1
        # Frozen: no more changes, and later repayments leave the cut-off figures alone.
        d = await book.loan("1000000.00")
        for action, body in (("loans", {"loan_id": d["id"]}), ("selection", None), ("lock", None)):
            response = await book.desk.client.post(
                f"/v1/pools/{pool['id']}/{action}", json=body, headers=book.desk_key
            )
            assert response.status_code == 409 and slug(response) == "invalid-state-transition"
        response = await book.desk.client.delete(
            f"/v1/pools/{pool['id']}/loans/{a['id']}", headers=book.desk_key
        )
        assert response.status_code == 409
        book.clock.set(book.clock.now().replace(month=2, day=20))
        await book.repay(a, paid_on="2025-02-10")
        assert (await book.get(pool))["stats"] == locked["stats"]

    async def test_transfer_marks_the_loans_securitised(self, book):
        loan = await book.loan("1000000.00")
        pool = await book.pool("1000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)
        refused = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/transfer",
            json={"spv_name": "SPV", "transfer_date": "2025-02-01"},
            headers=book.desk_key,
        )
        assert refused.status_code == 409  # still open
        await book.post(pool, "lock")
        early = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/transfer",
            json={"spv_name": "SPV", "transfer_date": "2025-01-30"},
            headers=book.desk_key,
        )
        assert early.status_code == 422
        done = await book.post(
            pool,
            "transfer",
            spv_name="Pingan-Shenzhen IP ABS Trust 2025-1",
            transfer_date="2025-02-03",
        )
        assert done["state"] == "transferred" and done["spv_name"].startswith("Pingan")
        assert await _outbox(book.conn, "pool.transferred", pool["id"]) == 1
        response = await book.desk.client.get(f"/v1/loans/{loan['id']}", headers=book.desk.officer)
        assert response.json()["securitized_on"] == "2025-02-03"
        assert response.json()["state"] == "active"
        listed = await book.desk.client.get("/v1/pools?state=transferred", headers=book.desk_key)
        assert pool["id"] in [p["id"] for p in listed.json()["items"]]


class TestPledgedValueAtTheTop:
    async def test_a_loan_whose_assets_are_valued_at_the_top_joins_locks_and_tapes(self, book):
        """Each valuation is below 10^18, but a loan's pledged value is their sum: three at
        the top of the range overflowed the member's column, and adding or selecting the
        loan answered 500."""
        loan = await book.loan("1000000.00", value="999999999999999999.99", assets=3)
        pool = await book.pool("5000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)
        await book.post(pool, "selection")
        stats = (await book.get(pool))["stats"]
        assert stats["loan_count"] == 1
        assert stats["wa_coverage"] == "3000000000000.0000"
        await book.post(pool, "lock")
        tape = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape", headers=book.desk_key)
        assert tape.status_code == 200, tape.text
        assert "2999999999999999999.97" in tape.text
