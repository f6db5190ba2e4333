"""The loan's read gives its schedule back as stored: every amount to the fen, the penalty
accrual and its date, in the order of the instalments."""

from datetime import date
from uuid import UUID

from app.core.db import Db
from app.loans import repository, rows
from app.loans.ledger import Instalment
from tests.lifecycle import disbursed


async def test_the_schedule_read_is_the_schedule_stored(desk, conn, clock):
    loan = await disbursed(desk, conn, clock, method="equal_principal", amount="1200000.00")
    loan_id = UUID(loan["id"])
    await conn.execute(
        """UPDATE loan_installments SET paid_principal = 0.05, paid_interest = 1000.07,
                  paid_penalty = 12.34, penalty_fen_days = 98765432101, penalty_to = '2026-05-02'
           WHERE loan_id = $1 AND seq = 2""",
        loan_id,
    )
    row = await repository.get(Db(conn), loan_id)
    assert row is not None
    schedule = rows.schedule(row["schedule"])
    assert [i.seq for i in schedule] == list(range(1, 13))
    assert schedule[0] == Instalment(1, date(2026, 4, 10), 10_000_000, 380_000)
    assert schedule[1][4:] == (5, 100_007, 1_234, 98_765_432_101, date(2026, 5, 2))
    # The rest as disbursed: their amounts as the answer showed them, nothing paid.
    assert [(i.due_date.isoformat(), i.principal, i.interest) for i in schedule] == [
        (s["due_date"], int(s["principal"].replace(".", "")), int(s["interest"].replace(".", "")))
        for s in loan["schedule"]
    ]
    assert all(i[4:] == (0, 0, 0, 0, None) for i in schedule if i.seq != 2)
