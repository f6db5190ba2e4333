"""What the audit trail keeps of a pool's membership: which loans a selection took out and put
in, and which loans, at which cut-off balances, a lock froze for the sale."""

from __future__ import annotations

from tests.pools.conftest import NO_LIMITS


async def _entry(book, pool: dict, action: str) -> dict:
    response = await book.desk.client.get(
        "/v1/audit-events",
        params={"entity_type": "pool", "entity_id": pool["id"]},
        headers=book.desk.admin,
    )
    assert response.status_code == 200, response.text
    return next(e for e in response.json()["items"] if e["action"] == action)


class TestMembershipInTheTrail:
    async def test_a_selection_names_the_loans_it_replaced_and_chose(self, book):
        out = await book.loan("2000000.00", district="440305")
        chosen = await book.loan("3000000.00", district="440307")
        pool = await book.pool("50000000.00", limits=NO_LIMITS, criteria={"districts": ["440307"]})
        await book.add(pool, chosen)
        await book.post(pool, "selection")
        entry = await _entry(book, pool, "pool.selected")
        assert entry["before"]["loan_ids"] == [chosen["id"]]
        assert entry["after"]["members"] == [
            {"loan_id": chosen["id"], "cut_off_balance": chosen["principal"]}
        ]
        assert out["id"] not in str(entry)

    async def test_a_selection_that_drops_a_member_says_so(self, book):
        a = await book.loan("2000000.00")
        b = await book.loan("3000000.00")
        pool = await book.pool("3000000.00", limits=NO_LIMITS)
        await book.add(pool, a)
        result = await book.post(pool, "selection")
        assert result["selected_balance"] == "3000000.00"
        entry = await _entry(book, pool, "pool.selected")
        assert entry["before"]["loan_ids"] == [a["id"]]
        assert [m["loan_id"] for m in entry["after"]["members"]] == [b["id"]]

    async def test_a_lock_names_every_loan_and_its_frozen_cut_off_balance(self, book):
        a = await book.loan("5000000.00")
        b = await book.loan("4000000.00")
        pool = await book.pool("10000000.00", limits=NO_LIMITS)
        await book.add(pool, a)
        await book.add(pool, b)
        await book.post(pool, "lock")
        entry = await _entry(book, pool, "pool.locked")
        frozen = await book.conn.fetch(
            """SELECT loan_id::text, cut_off_balance::text FROM pool_loans
               WHERE pool_id = $1 ORDER BY loan_id""",
            pool["id"],
        )
        assert entry["after"]["members"] == [
            {"loan_id": r["loan_id"], "cut_off_balance": r["cut_off_balance"]} for r in frozen
        ]
        assert len(frozen) == 2

    async def test_a_selection_into_an_empty_pool_writes_its_balance_as_money(self, book):
        loan = await book.loan("2000000.00")
        pool = await book.pool("50000000.00", limits=NO_LIMITS)
        await book.post(pool, "selection")
        entry = await _entry(book, pool, "pool.selected")
        assert entry["before"] == {"loan_count": 0, "balance": "0.00", "loan_ids": []}
        assert entry["after"]["members"] == [
            {"loan_id": loan["id"], "cut_off_balance": loan["principal"]}
        ]
