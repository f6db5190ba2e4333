"""A loan's term at the cut-off (SPEC 3.9, docs/data-tape.md): a prepayment that shortens the
term, dated after the cut-off, is undone like the balance it repaid, so that eligibility, the
statistics and the tape's ``remaining_months`` see the schedule as it stood at the cut-off."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests.pools.conftest import NO_LIMITS


async def _prepay_shortening(book, loan: dict) -> dict:
    """On 3 February 2025, after the 31 January cut-off: instalment 1 early and 1,000,000.00
    prepaid with a shortened term."""
    first = loan["schedule"][0]
    amount = Decimal(first["principal"]) + Decimal(first["interest"]) + Decimal("1000000.00")
    response = await book.desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": "2025-02-03", "amount": str(amount), "prepayment_option": "shorten_term"},
        headers=book.desk.officer,
    )
    assert response.status_code == 201, response.text
    return response.json()["loan"]


class TestTermAtTheCutOff:
    async def test_a_later_shortened_term_is_undone(self, book):
        loan = await book.loan("1200000.00")  # 12 instalments from 10 February 2025
        after = await _prepay_shortening(book, loan)
        # It now matures less than 3 months after the cut-off.
        assert after["maturity_date"] < "2025-04-30", after["maturity_date"]
        pool = await book.pool("5000000.00", limits=NO_LIMITS)
        # At the cut-off it had 12 instalments to come: eligible (maturity at least 3 months
        # after the cut-off), and the tape says 12.
        pool = await book.add(pool, loan)
        assert pool["stats"]["wa_remaining_months"] == "12.0000"
        pool = await book.post(pool, "lock")
        assert pool["stats"]["wa_remaining_months"] == "12.0000"
        tape = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape", headers=book.desk_key)
        (row,) = list(csv.DictReader(io.StringIO(tape.text)))
        assert row["cut_off_balance"] == "1200000.00"
        assert row["remaining_months"] == "12"
        assert row["days_past_due"] == "0" and row["classification"] == "normal"
        # The maturity the tape states is the one of that schedule, not the shortened one.
        assert row["maturity_date"] == "2026-01-10", row["maturity_date"]

    async def test_a_term_shortened_after_the_lock_leaves_the_tape_as_it_was(self, book):
        loan = await book.loan("1200000.00")
        pool = await book.pool("5000000.00", limits=NO_LIMITS)
        pool = await book.add(pool, loan)
        pool = await book.post(pool, "lock")
        url = f"/v1/pools/{pool['id']}/tape"
        locked = await book.desk.client.get(url, headers=book.desk_key)
        await _prepay_shortening(book, loan)
        again = await book.desk.client.get(url, headers=book.desk_key)
        assert again.content == locked.content

    async def test_the_automatic_selection_finds_it(self, book):
        loan = await book.loan("1200000.00")
        await _prepay_shortening(book, loan)
        pool = await book.pool("1200000.00", limits=NO_LIMITS)
        selected = await book.post(pool, "selection")
        assert selected["selected_count"] == 1, selected
