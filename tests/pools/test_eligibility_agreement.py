"""Pool eligibility is written twice: as SQL, for the bulk selection over the whole book, and
as Python, for the reasons one loan may not join. Over a book of loans that differ in every
way a rule looks at, and a grid of pool criteria, the two name the same loans."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from uuid import UUID, uuid4

from app.core.db import Db
from app.pools import repository, rules
from tests.pools.conftest import CUT_OFF, NO_LIMITS

CUT = date.fromisoformat(CUT_OFF)


async def test_the_bulk_selection_and_the_one_loan_rules_agree(book, conn):
    loans = [
        await book.loan("1000000.00", district="440305", industry="electronic_information"),
        await book.loan("3000000.00", district="440306", industry="biomedicine", term_months=24),
        await book.loan("5000000.00", district="440305", industry="biomedicine", term_months=3),
        await book.loan("2000000.00", district="440307", industry="other", term_months=6),
        # Disbursed after the cut-off.
        await book.loan("1500000.00", disbursed_on="2025-02-01"),
        # Two pledges; and a loan whose repayment after the cut-off is undone at it.
        await book.loan("2500000.00", assets=2, term_months=18),
        await book.loan("4000000.00", district="440306", industry="other", term_months=36),
        # Matures exactly six months after the cut-off.
        await book.loan("1200000.00", disbursed_on="2025-01-31", term_months=6),
    ]
    await book.repay(loans[6], paid_on="2025-02-03", amount="1000000.00")
    # Already in another pool.
    other = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(other, loans[3])
    # Paid off before the cut-off is not possible here (receipts are in January); paid off
    # now, it is not active.
    paid = await book.loan("800000.00", term_months=3)
    await book.repay(paid, paid_on="2025-02-03", amount="800000.00")
    loans.append(paid)

    db = Db(conn)
    pool_id = uuid4()
    as_of = datetime.now().astimezone()
    ids = {UUID(loan["id"]) for loan in loans}
    facts = {}
    for loan_id in ids:
        found = await repository.loan_facts(db, cut_off=CUT, as_of=as_of, loan_id=loan_id)
        assert found is not None
        facts[loan_id] = found

    grid = itertools.product(
        (1, 3, 6, 12, 24),
        (None, ["440305"], ["440306", "440307"]),
        (None, ["biomedicine"], ["other", "electronic_information"]),
        (None, "1500000.00", "2500000.00"),
        (None, "3000000.00"),
    )
    compared = 0
    for months, districts, industries, low, high in grid:
        criteria = {"min_remaining_months": months}
        if districts:
            criteria["districts"] = districts
        if industries:
            criteria["industries"] = industries
        if low:
            criteria["min_balance"] = low
        if high:
            criteria["max_balance"] = high
        bulk = await repository.eligible_facts(
            db, pool_id=pool_id, cut_off=CUT, as_of=as_of, criteria=criteria
        )
        by_sql = {f.loan_id for f in bulk} & ids
        by_rules = {
            loan_id
            for loan_id, f in facts.items()
            if not rules.ineligibility(f, pool_id=pool_id, cut_off=CUT, criteria=criteria)
        }
        assert by_sql == by_rules, criteria
        # The facts the selection works from are the ones the rules judged.
        assert all(f == facts[f.loan_id] for f in bulk if f.loan_id in ids)
        compared += 1
    assert compared == 5 * 3 * 3 * 3 * 2
    # The grid is not vacuous: some criteria admit loans and some refuse every one.
    everything = await repository.eligible_facts(
        db, pool_id=pool_id, cut_off=CUT, as_of=as_of, criteria={"min_remaining_months": 1}
    )
    assert 3 <= len({f.loan_id for f in everything} & ids) < len(ids)
