"""Projections through the API (SPEC 3.9a): a pool's own schedules drive them, they are
stored and read back, shown as CSV and SVG, and bad input is refused naming the field."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import problem_of
from tests.factories import at
from tests.pools.conftest import NO_LIMITS

D = Decimal
STRUCTURE = {
    "tranches": [
        {"name": "Senior", "share": "0.85", "coupon_bp": 280},
        {"name": "Junior", "share": "0.15", "coupon_bp": 600},
    ],
    "fees_bp": 20,
}
STILL = {"cpr": "0", "cdr": "0", "recovery_rate": "0.5", "recovery_lag_months": 3}


def body(scenario=None, structure=None, **extra) -> dict:
    return {"scenario": scenario or STILL, "structure": structure or STRUCTURE, **extra}


async def project(book, pool, payload, *, expect=201, headers=None):
    response = await book.desk.client.post(
        f"/v1/pools/{pool['id']}/projections", json=payload, headers=headers or book.desk_key
    )
    assert response.status_code == expect, response.text
    return response


@pytest.fixture
async def locked(book):
    """Two loans, 6,000,000.00 and 4,000,000.00 over 12 months from 10 January 2025, in a
    pool locked at its cut-off of 31 January 2025."""
    a = await book.loan("6000000.00")
    b = await book.loan("4000000.00")
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(pool, a)
    await book.add(pool, b)
    pool = await book.post(pool, "lock")
    return pool, [a, b]


def _month_end(due: str) -> str:
    """The projection month of a due date after the 31 January cut-off: each month's last day."""
    d = date.fromisoformat(due)
    following = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1).isoformat()


class TestScheduleDrivesIt:
    async def test_no_prepayments_or_defaults_collect_the_instalments(self, book, locked):
        pool, loans = locked
        out = (await project(book, pool, body())).json()
        # What each month should collect: the two loans' instalments due in it, summed.
        expected = defaultdict(lambda: [D(0), D(0)])
        for loan in loans:
            for instalment in loan["schedule"]:
                month = expected[_month_end(instalment["due_date"])]
                month[0] += D(instalment["principal"])
                month[1] += D(instalment["interest"])
        assert len(out["rows"]) == 12
        for row in out["rows"]:
            principal, interest = expected[row["date"]]
            assert row["scheduled_principal"] == f"{principal:.2f}"
            assert row["interest_collected"] == f"{interest:.2f}"
            assert row["prepayments"] == row["defaults"] == row["recoveries"] == "0.00"
        assert out["rows"][0]["beginning_balance"] == "10000000.00"
        assert out["rows"][-1]["ending_balance"] == "0.00"
        assert out["cut_off_balance"] == "10000000.00" and out["loan_count"] == 2
        senior, junior = out["tranches"]
        assert senior["original_balance"] == "8500000.00"
        assert junior["original_balance"] == "1500000.00"
        assert senior["principal_paid"] == "8500000.00" and senior["loss"] == "0.00"
        assert junior["principal_paid"] == "1500000.00"
        # Sequential: the junior is paid only once the senior is gone.
        first_junior = junior["first_payment_date"]
        assert senior["last_payment_date"] <= first_junior
        # Fees first: 20bp a year on 10,000,000.00 = 1,666.666… → 1,666.67 in month 1;
        # the senior's coupon 2.8% / 12 × 8,500,000 = 19,833.33.
        assert out["rows"][0]["fees"] == "1666.67"
        assert out["rows"][0]["tranches"][0]["interest_paid"] == "19833.33"
        assert out["breakeven_cdr"] is None and out["version"] == 1

    async def test_a_repayment_after_the_cut_off_is_undone(self, book, locked):
        pool, loans = locked
        before = (await project(book, pool, body())).json()
        # The first instalment, due 10 February, paid on 3 February: after the cut-off, so the
        # projection still sees it due.
        await book.repay(loans[0], paid_on="2025-02-03")
        after = (await project(book, pool, body())).json()
        assert [r["scheduled_principal"] for r in after["rows"]] == [
            r["scheduled_principal"] for r in before["rows"]
        ]
        assert after["rows"][0]["interest_collected"] == before["rows"][0]["interest_collected"]

    async def test_a_prepayment_after_the_cut_off_leaves_the_cut_off_schedule(self, book):
        # A prepayment re-amortises the loan's stored schedule; posted after the cut-off, it
        # must change neither an open pool's projection nor the schedule frozen at the lock:
        # with CPR = CDR = 0 the collections stay the instalments as they stood at the cut-off.
        a = await book.loan("6000000.00")
        b = await book.loan("4000000.00")
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        await book.add(pool, a)
        await book.add(pool, b)
        before = (await project(book, pool, body())).json()
        first = a["schedule"][0]
        prepaid = D(first["principal"]) + D(first["interest"]) + D("1000000.00")
        await book.repay(a, paid_on="2025-02-03", amount=str(prepaid))
        # The other member too, shortening its term: both are read back as of the cut-off.
        first = b["schedule"][0]
        prepaid = D(first["principal"]) + D(first["interest"]) + D("500000.00")
        await book.repay(
            b, paid_on="2025-02-03", amount=str(prepaid), prepayment_option="shorten_term"
        )

        def collections(out: dict) -> list[tuple[str, str, str]]:
            return [
                (r["date"], r["scheduled_principal"], r["interest_collected"]) for r in out["rows"]
            ]

        open_after = (await project(book, pool, body())).json()
        assert collections(open_after) == collections(before)
        await book.post(pool, "lock")
        locked_after = (await project(book, pool, body())).json()
        assert locked_after["pool_state"] == "locked"
        assert collections(locked_after) == collections(before)
        assert locked_after["cut_off_balance"] == before["cut_off_balance"] == "10000000.00"

    async def test_an_instalment_due_on_the_cut_off_day_is_collected_in_month_one(self, book):
        # Cut off on 10 February 2025, the day the first instalments fall due, still unpaid at
        # the day's end: 0 days past due, so the loans are eligible and their balances include
        # those instalments' principal. They are collected after the cut-off, in month 1 (to 10
        # March) with the instalments due then; the last month collects the last ones alone.
        # Paid after the cut-off (one loan exactly, one with a prepayment that re-amortises
        # it), they are still projected as unpaid at the cut-off.
        a = await book.loan("1200000.00")
        b = await book.loan("600000.00")
        book.clock.set(at("2025-02-12T10:00:00+08:00"))
        pool = await book.pool("10000000.00", limits=NO_LIMITS, cut_off_date="2025-02-10")
        await book.add(pool, a)
        await book.add(pool, b)

        def due(seqs: slice, part: str) -> Decimal:
            return sum(D(i[part]) for loan in (a, b) for i in loan["schedule"][seqs])

        def check(out: dict) -> None:
            assert out["cut_off_balance"] == "1800000.00"
            first, last = out["rows"][0], out["rows"][-1]
            assert first["date"] == "2025-03-10"
            assert D(first["scheduled_principal"]) == due(slice(0, 2), "principal")
            assert D(first["interest_collected"]) == due(slice(0, 2), "interest")
            assert len(out["rows"]) == 11
            assert D(last["scheduled_principal"]) == due(slice(11, 12), "principal")
            assert sum(D(r["scheduled_principal"]) for r in out["rows"]) == D("1800000.00")
            assert sum(D(r["interest_collected"]) for r in out["rows"]) == due(
                slice(0, 12), "interest"
            )

        before = (await project(book, pool, body())).json()
        check(before)
        await book.repay(a, paid_on="2025-02-11")
        first = b["schedule"][0]
        prepaid = D(first["principal"]) + D(first["interest"]) + D("100000.00")
        await book.repay(b, paid_on="2025-02-11", amount=str(prepaid))
        after = (await project(book, pool, body())).json()
        assert after["rows"] == before["rows"]
        await book.post(pool, "lock")
        locked = (await project(book, pool, body())).json()
        assert locked["pool_state"] == "locked"
        assert locked["rows"] == before["rows"]

    async def test_an_open_pool_projects_its_current_members(self, book):
        loan = await book.loan("3000000.00")
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)
        out = (await project(book, pool, body())).json()
        assert out["pool_state"] == "open"
        assert out["cut_off_balance"] == "3000000.00"


class TestStoredAndShown:
    async def test_read_back_csv_chart_and_audit(self, book, locked, conn):
        pool, _ = locked
        stress = {"cpr": "0.10", "cdr": "0.08", "recovery_rate": "0.4", "recovery_lag_months": 2}
        created = await project(book, pool, body(stress, breakeven=True))
        out = created.json()
        location = created.headers["location"]
        assert location == f"/v1/pools/{pool['id']}/projections/{out['id']}"
        read = await book.desk.client.get(location, headers=book.desk.admin)
        assert read.status_code == 200
        assert read.json() == out
        assert out["scenario"]["cdr"] == "0.0800"
        assert len(out["rows"]) == 14  # two months more for the last recoveries
        # CSV: a header, then a line a month, the money as in JSON.
        csv_response = await book.desk.client.get(
            location, headers={**book.desk_key, "Accept": "text/csv"}
        )
        assert csv_response.headers["content-type"].startswith("text/csv")
        lines = csv_response.text.strip().split("\r\n")
        assert lines[0].startswith("period,date,beginning_balance,scheduled_principal")
        assert "Senior_principal_paid" in lines[0] and "Junior_shortfall" in lines[0]
        assert len(lines) == 1 + len(out["rows"])
        first = lines[1].split(",")
        assert first[:3] == ["1", "2025-02-28", "10000000.00"]
        assert first[5] == out["rows"][0]["defaults"]
        posted_csv = await project(
            book, pool, body(stress), headers={**book.desk_key, "Accept": "text/csv"}
        )
        assert posted_csv.text.split("\r\n")[1] == lines[1]
        chart = await book.desk.client.get(f"{location}/chart.svg", headers=book.desk_key)
        assert chart.status_code == 200
        assert chart.headers["content-type"].startswith("image/svg+xml")
        assert chart.text.lstrip().startswith("<?xml") and "<svg" in chart.text
        assert "CDR 8%" in chart.text and "Senior (tranche balance)" in chart.text
        assert "Tranche balances at month end (CNY)" in chart.text and "¥" in chart.text
        again = await book.desk.client.get(f"{location}/chart.svg", headers=book.desk.admin)
        assert again.content == chart.content  # one projection, one drawing
        assert await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'pool.projected' AND entity_id = $1",
            out["id"],
        )

    async def test_breakeven_bounds_through_the_api(self, book, locked):
        pool, _ = locked
        stress = {"cpr": "0.05", "cdr": "0.02", "recovery_rate": "0.3", "recovery_lag_months": 1}
        out = (await project(book, pool, body(stress, breakeven=True))).json()
        found = D(out["breakeven_cdr"])
        assert D(0) < found <= 1
        at = (await project(book, pool, body({**stress, "cdr": str(found)}))).json()
        below = (
            await project(book, pool, body({**stress, "cdr": str(found - D("0.0001"))}))
        ).json()
        assert D(at["tranches"][0]["loss"]) > 0
        assert below["tranches"][0]["loss"] == "0.00"

    async def test_grid(self, book, locked):
        pool, _ = locked
        response = await book.desk.client.post(
            f"/v1/pools/{pool['id']}/projection-grid",
            json={
                "cpr": ["0", "0.1"],
                "cdr": ["0", "0.05", "0.5"],
                "recovery_rate": "0.4",
                "recovery_lag_months": 3,
                "structure": STRUCTURE,
            },
            headers=book.desk_key,
        )
        assert response.status_code == 200, response.text
        points = response.json()["points"]
        assert [(p["cpr"], p["cdr"]) for p in points] == [
            (c, d) for c in ("0.0000", "0.1000") for d in ("0.0000", "0.0500", "0.5000")
        ]
        assert all(
            t["loss"] == "0.00" for p in points if p["cdr"] == "0.0000" for t in p["tranches"]
        )
        junior_losses = [D(p["tranches"][1]["loss"]) for p in points[:3]]
        assert junior_losses == sorted(junior_losses) and junior_losses[2] > 0


class TestRefused:
    @pytest.mark.parametrize(
        ("change", "loc"),
        [
            ({"scenario": {**STILL, "cpr": "1.5"}}, ["body", "scenario", "cpr"]),
            ({"scenario": {**STILL, "cdr": "-0.1"}}, ["body", "scenario", "cdr"]),
            ({"scenario": {**STILL, "recovery_rate": 2}}, ["body", "scenario", "recovery_rate"]),
            # Decimal() reads other scripts' digits, exponents and underscores: "١" would be a
            # CPR of 1, a pool prepaid in full in its first month.
            ({"scenario": {**STILL, "cpr": "\u0661"}}, ["body", "scenario", "cpr"]),
            ({"scenario": {**STILL, "cdr": "\uff10.\uff11"}}, ["body", "scenario", "cdr"]),
            ({"scenario": {**STILL, "cpr": "1e-1"}}, ["body", "scenario", "cpr"]),
            ({"scenario": {**STILL, "cdr": "0.0_5"}}, ["body", "scenario", "cdr"]),
            (
                {"scenario": {**STILL, "recovery_rate": " 0.5"}},
                ["body", "scenario", "recovery_rate"],
            ),
            (
                {"scenario": {**STILL, "recovery_lag_months": -1}},
                ["body", "scenario", "recovery_lag_months"],
            ),
            (
                {
                    "structure": {
                        **STRUCTURE,
                        "tranches": [{"name": "A", "share": "0.9", "coupon_bp": 1}],
                    }
                },
                ["body", "structure", "tranches"],
            ),
            ({"structure": {"tranches": [], "fees_bp": 0}}, ["body", "structure", "tranches"]),
            (
                {
                    "structure": {
                        "tranches": [
                            {"name": "A", "share": "0.5", "coupon_bp": 1},
                            {"name": "A", "share": "0.5", "coupon_bp": 1},
                        ]
                    }
                },
                ["body", "structure", "tranches"],
            ),
            ({"breakeven": "yes"}, ["body", "breakeven"]),
        ],
    )
    async def test_bad_input_names_the_field(self, book, locked, change, loc):
        pool, _ = locked
        response = await project(book, pool, {**body(), **change}, expect=422)
        assert [e["loc"][: len(loc)] for e in problem_of(response)["errors"]] == [loc]

    async def test_a_pool_with_no_loans(self, book):
        pool = await book.pool("10000000.00")
        response = await project(book, pool, body(), expect=422)
        assert problem_of(response)["errors"][0]["loc"] == ["path", "pool_id"]

    async def test_who_may(self, book, locked):
        pool, _ = locked
        desk = book.desk
        for headers in (desk.admin, desk.officer, desk.rm, desk.bank):
            await project(book, pool, body(), expect=403, headers=headers)
        out = (await project(book, pool, body())).json()
        path = f"/v1/pools/{pool['id']}/projections/{out['id']}"
        for headers in (desk.officer, desk.rm, desk.bank):
            assert (await desk.client.get(path, headers=headers)).status_code == 403
        other = await book.pool("1000.00")
        wrong = f"/v1/pools/{other['id']}/projections/{out['id']}"
        assert (await desk.client.get(wrong, headers=book.desk_key)).status_code == 404
        missing = "/v1/pools/0190a000-0000-7000-8000-000000000000/projections"
        response = await desk.client.post(missing, json=body(), headers=book.desk_key)
        assert response.status_code == 404
