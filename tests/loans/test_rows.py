"""The loan's read gives its schedule back as stored: every amount to the fen, the penalty
accrual and its date, in the order of the instalments."""

from datetime import date
from decimal import Decimal
from uuid import UUID

from app.core.db import Db
from app.loans import repository, rows
from app.loans.ledger import Instalment
from tests.factories import at
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


async def test_a_posting_stores_what_it_answers(desk, conn, clock):
    """Every part of a repayment and every amount of the instalments it changed is stored to
    the fen: one overdue instalment with penalty interest, the current one, and a prepayment
    that re-amortises the rest."""
    loan = await disbursed(desk, conn, clock, method="equal_installment", amount="600000.00")
    clock.set(at("2026-05-01T10:00:00+08:00"))
    quote = (await desk.client.get(f"/v1/loans/{loan['id']}/payoff", headers=desk.officer)).json()
    amount = Decimal(quote["amount"]) - Decimal("100000.07")
    response = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": "2026-05-01", "amount": f"{amount:.2f}"},
        headers=desk.officer,
    )
    assert response.status_code == 201, response.text
    posted = response.json()
    parts = ("principal_paid", "interest_paid", "penalty_interest_paid", "prepaid_principal")
    assert all(Decimal(posted[p]) > 0 for p in parts)
    stored = await conn.fetchrow(
        f"SELECT amount, {', '.join(parts)}, allocation FROM loan_repayments WHERE id = $1",
        UUID(posted["id"]),
    )
    assert {p: f"{stored[p]:.2f}" for p in ("amount", *parts)} == {
        p: posted[p] for p in ("amount", *parts)
    }
    assert stored["allocation"] == posted["allocation"]
    outstanding = await conn.fetchval(
        "SELECT outstanding_principal FROM loans WHERE id = $1", UUID(loan["id"])
    )
    assert f"{outstanding:.2f}" == posted["loan"]["outstanding_principal"]
    instalments = await conn.fetch(
        """SELECT seq, principal, interest, paid_principal, paid_interest, paid_penalty
           FROM loan_installments WHERE loan_id = $1 ORDER BY seq""",
        UUID(loan["id"]),
    )
    assert [(r["seq"], *(f"{r[c]:.2f}" for c in list(r.keys())[1:])) for r in instalments] == [
        (
            i["seq"],
            i["principal"],
            i["interest"],
            i["paid_principal"],
            i["paid_interest"],
            i["paid_penalty_interest"],
        )
        for i in posted["loan"]["schedule"]
    ]
