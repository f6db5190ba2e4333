"""CSV formula injection (SPEC section 5, OWASP): a tape cell that a spreadsheet would read as
a formula, starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, is written
with a leading ``'``; every other cell, numbers included, is written as it is."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from app.pools.tape import neutralised
from tests import factories
from tests.pools.conftest import NO_LIMITS

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1",
    "@SUM(A1)",
    "-2",
    "\tcmd|' /C calc'!A0",
    "\r=1+1",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class TestCell:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_a_formula_start_gets_a_quote(self, text):
        assert neutralised([text]) == ["'" + text]

    @pytest.mark.parametrize(
        "value,cell",
        [
            ("Shenzhen Robotics Co., Ltd.", "Shenzhen Robotics Co., Ltd."),
            ("深圳市龙岗区某科技有限公司", "深圳市龙岗区某科技有限公司"),
            ("A=B", "A=B"),  # only the first character matters
            ("'=already quoted", "'=already quoted"),
            (" =1", " =1"),
            (12, "12"),
            ("3000000.00", "3000000.00"),
            ("", ""),
            (None, ""),
        ],
    )
    def test_anything_else_is_written_as_it_is(self, value, cell):
        assert neutralised([value]) == [cell]

    def test_each_cell_of_a_row_on_its_own(self):
        assert neutralised(["-2", 12, "Acme", "@x", None]) == ["'-2", "12", "Acme", "'@x", ""]


async def test_hostile_enterprise_names_reach_the_tape_as_text(book):
    # Stored directly: names like these may predate today's input rules, and a tape must be
    # safe whatever is stored.
    loans = {}
    for name in HOSTILE:
        enterprise = await factories.enterprise(book.conn, district_code="440305", name=name)
        loans[name] = await book.loan("1000000.00", enterprise=enterprise)
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    for loan in loans.values():
        await book.add(pool, loan)
    pool = await book.post(pool, "lock")
    response = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape", headers=book.desk_key)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    by_loan = {row["loan_id"]: row for row in rows}
    for name, loan in loans.items():
        row = by_loan[loan["id"]]
        assert row["enterprise_name"] == "'" + name
        # The numbers stay numbers.
        assert Decimal(row["cut_off_balance"]) == Decimal("1000000.00")
        assert int(row["days_past_due"]) == 0 and int(row["pledge_count"]) == 1
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
