"""The data tape (SPEC 3.9): every column, one row a loan, reconciled with the pool's
statistics to the fen, and streamed."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal

from app.pools.tape import COLUMNS
from tests.pools.conftest import NO_LIMITS


async def _tape(book, pool: dict, headers=None):
    return await book.desk.client.get(
        f"/v1/pools/{pool['id']}/tape", headers=headers or book.desk_key
    )


class TestTape:
    async def test_rows_reconcile_with_the_statistics(self, book):
        a = await book.enterprise(district="440307", industry="biomedicine")
        loans = [
            await book.loan("3000000.00", enterprise=a, assets=2, value="4000000.00"),
            await book.loan("1250000.55", district="440304", industry="low_carbon"),
            await book.loan("2000000.00", district="440305", industry="artificial_intelligence"),
        ]
        book.clock.set(book.clock.now().replace(month=2, day=20))
        await book.repay(loans[2], paid_on="2025-02-10")  # after the cut-off: undone
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        for loan in loans:
            await book.add(pool, loan)
        pool = await book.post(pool, "lock")
        response = await _tape(book, pool)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        assert response.headers["x-tape-rows"] == "3"
        text = response.content.decode("utf-8")
        assert not text.startswith("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0].keys()) == list(COLUMNS)
        stats = pool["stats"]
        assert len(rows) == stats["loan_count"] == 3
        assert len({r["enterprise_id"] for r in rows}) == stats["obligor_count"] == 3
        total = sum(Decimal(r["cut_off_balance"]) for r in rows)
        assert f"{total:.2f}" == stats["outstanding_principal"] == "6250000.55"
        weighted = sum(Decimal(r["cut_off_balance"]) * int(r["rate_bp"]) for r in rows)
        assert f"{(weighted / total):.4f}" == stats["wa_rate_bp"]
        by_id = {r["loan_id"]: r for r in rows}
        two = by_id[loans[0]["id"]]
        assert two["pledge_count"] == "2"
        assert two["ip_asset_kinds"] == "invention_patent;invention_patent"
        assert two["valuations"] == "4000000.00;4000000.00"
        assert two["pledged_value"] == "8000000.00" and two["coverage"] == "2.6667"
        assert len(two["registration_nos"].split(";")) == 2
        assert two["district_code"] == "440307" and two["industry"] == "biomedicine"
        assert two["cut_off_date"] == "2025-01-31" and two["days_past_due"] == "0"
        assert two["classification"] == "normal"
        assert two["remaining_months"] == "12" and two["original_balance"] == "3000000.00"
        assert two["application_reference"].startswith("ZCR-")
        assert by_id[loans[2]["id"]]["cut_off_balance"] == "2000000.00"
        shares = {k: Decimal(v) for k, v in stats["industry_shares"].items()}
        assert shares["biomedicine"] == (Decimal("3000000.00") / total).quantize(Decimal("0.0001"))

    async def test_an_empty_pool_has_a_header_and_unknown_pools_404(self, book):
        pool = await book.pool("1000.00")
        response = await _tape(book, pool)
        assert response.status_code == 200
        assert response.text == ",".join(COLUMNS) + "\r\n"
        assert response.headers["x-tape-rows"] == "0"
        gone = await book.desk.client.get(
            "/v1/pools/0190aaaa-0000-7000-8000-000000000000/tape", headers=book.desk_key
        )
        assert gone.status_code == 404
        assert gone.headers["content-type"].startswith("application/problem+json")

    async def test_who_may_export(self, book):
        pool = await book.pool("1000.00")
        assert (await _tape(book, pool, book.desk.admin)).status_code == 200
        for headers in (book.desk.officer, book.desk.rm, book.desk.bank):
            assert (await _tape(book, pool, headers)).status_code == 403
        response = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape")
        assert response.status_code == 401

    async def test_a_valuation_recorded_after_the_lock_changes_no_cell(self, book):
        """A back-dated appraisal posted after the lock is not in the frozen pledged value,
        so the tape's valuations leave it out too: the cells still sum to the frozen figure."""
        loan = await book.loan("3000000.00", assets=2, value="4000000.00")
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)
        pool = await book.post(pool, "lock")
        asset = await book.conn.fetchval(
            "SELECT min(p.ip_asset_id::text) FROM pledges p "
            "JOIN loans l ON l.application_id = p.application_id WHERE l.id = $1",
            loan["id"],
        )
        book.clock.set(book.clock.now().replace(day=5))
        response = await book.desk.client.post(
            f"/v1/ip-assets/{asset}/valuations",
            json={
                "value": "9000000.00",
                "appraiser": "Shenzhen Appraisal Co.",
                "method": "income",
                "valuation_date": "2025-01-20",  # before the cut-off of 31 January
            },
            headers=book.desk.officer,
        )
        assert response.status_code == 201, response.text
        (row,) = list(csv.DictReader(io.StringIO((await _tape(book, pool)).text)))
        valuations = [Decimal(v) for v in row["valuations"].split(";")]
        assert sum(valuations) == Decimal(row["pledged_value"]) == Decimal("8000000.00")
        assert row["valuation_dates"] == "2024-12-02;2024-12-02"

    async def test_tapes_wait_for_a_free_slot(self, book, app):
        """IPLEDGE_TAPE_CONCURRENCY bounds the tapes streamed at once: one more waits."""
        pool = await book.pool("1000.00")
        slots = app.state.tape_slots = asyncio.Semaphore(1)
        try:
            async with slots:  # the one slot taken, as by a long download
                download = asyncio.create_task(_tape(book, pool))
                await asyncio.sleep(0.2)
                assert not download.done()
            response = await download
        finally:
            del app.state.tape_slots
        assert response.status_code == 200 and response.headers["x-tape-rows"] == "0"
