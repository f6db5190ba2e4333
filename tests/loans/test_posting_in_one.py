"""A posting made in one statement (``repository.POST_IN_ONE_SQL``) is the posting the Python
path makes: the same allocation, answer, repayment row, instalments and audit entry. Two
identical loans take the same postings, one without If-Match (the one-statement path) and one
with it (the read, Python's allocation and the version-guarded write); after every posting the
two must agree in everything but their ids."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest

from app.loans import repository
from tests.factories import at
from tests.lifecycle import disbursed

FEN = Decimal("0.01")


@pytest.fixture
def one_statement(monkeypatch):
    """Whether each posting's one statement wrote it (True) or left it to the lock (False)."""
    outcomes: list[bool] = []
    real = repository.post_in_one

    async def spy(db, **kwargs):
        row = await real(db, **kwargs)
        outcomes.append(row is not None)
        return row

    monkeypatch.setattr(repository, "post_in_one", spy)
    return outcomes


async def _post(desk, loan_id, paid_on, amount, *, version=None):
    headers = dict(desk.officer)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return await desk.client.post(
        f"/v1/loans/{loan_id}/repayments",
        json={"paid_on": paid_on, "amount": amount},
        headers=headers,
    )


def _without_ids(answer: dict) -> dict:
    loan = {
        k: v
        for k, v in answer["loan"].items()
        if k not in ("id", "application_id", "enterprise_id", "created_at", "updated_at")
    }
    return {**{k: v for k, v in answer.items() if k not in ("id", "loan")}, "loan": loan}


async def _trail(conn, loan_id) -> list[tuple]:
    """The loan's repayment rows and their audit entries, in posting order, without ids."""
    repayments = await conn.fetch(
        """SELECT id, paid_on, amount, principal_paid, interest_paid, allocation::text
           FROM loan_repayments WHERE loan_id = $1 ORDER BY id""",
        loan_id,
    )
    audit = await conn.fetch(
        """SELECT action, actor_role, actor_subject, before, after - 'repayment_id' AS after,
                  after->>'repayment_id' AS repayment_id
           FROM audit_events WHERE entity_type = 'loan' AND entity_id = $1
             AND action = 'loan.repayment_posted' ORDER BY id""",
        str(loan_id),
    )
    assert [str(r["id"]) for r in repayments] == [a["repayment_id"] for a in audit]
    return [
        (tuple(r)[1:], (a["action"], a["actor_role"], a["actor_subject"], a["before"], a["after"]))
        for r, a in zip(repayments, audit, strict=True)
    ]


def _payable(loan: dict, paid_on: str) -> Decimal:
    """What may be paid on ``paid_on``: interest due by then and all principal."""
    due = date.fromisoformat(paid_on)
    return sum(
        (
            Decimal(i["principal"])
            - Decimal(i["paid_principal"])
            + (
                Decimal(i["interest"]) - Decimal(i["paid_interest"])
                if date.fromisoformat(i["due_date"]) <= due
                else 0
            )
            for i in loan["schedule"]
        ),
        Decimal("0.00"),
    )


async def _twins(desk, conn, clock, method: str) -> tuple[dict, dict]:
    first = await disbursed(desk, conn, clock, method=method, amount="600000.00")
    second = await disbursed(desk, conn, clock, method=method, amount="600000.00")
    assert first["schedule"] == second["schedule"]
    return first, second


@pytest.mark.parametrize("seed", range(12))
async def test_postings_in_one_statement_match_the_python_path(
    desk, conn, clock, one_statement, seed
):
    rng = random.Random(seed)
    method = ("equal_installment", "equal_principal", "interest_only_bullet")[seed % 3]
    fast, slow = await _twins(desk, conn, clock, method)
    day = date(2026, 3, 10)
    versions = slow["version"]
    written = []  # by the one statement: every posting it may make (the If-Match ones never)
    for step in range(10):
        day += timedelta(days=rng.choice([0, 3, 17, 31, 45]))
        paid_on = day.isoformat()
        clock.set(at(f"{paid_on}T11:00:00+08:00"))
        payable = _payable(fast, paid_on)
        share = rng.choice(["fen", "part", "part", "part", "due", "over"])
        if share == "fen":
            amount = FEN
        elif share == "over":
            amount = payable + FEN
        elif share == "due":
            amount = payable - Decimal("1.00")  # all but a yuan: never a payoff
        else:
            amount = (payable * Decimal(rng.randint(1, 40)) / 100).quantize(FEN, ROUND_DOWN)
        amount = max(amount, FEN)
        a = await _post(desk, fast["id"], paid_on, f"{amount:.2f}")
        b = await _post(desk, slow["id"], paid_on, f"{amount:.2f}", version=versions)
        assert a.status_code == b.status_code, (step, a.text, b.text)
        written.append(a.status_code == 201)
        if a.status_code != 201:
            assert a.status_code == 422 and share == "over", (step, a.text)
            assert a.json()["detail"] == b.json()["detail"]
            continue
        assert _without_ids(a.json()) == _without_ids(b.json()), step
        fast, slow = a.json()["loan"], b.json()["loan"]
        versions = slow["version"]
    assert await _trail(conn, fast["id"]) == await _trail(conn, slow["id"])
    assert one_statement == written and any(written)


async def test_what_one_statement_leaves_is_made_under_the_lock(desk, conn, clock, one_statement):
    loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
    clock.set(at("2026-04-10T10:00:00+08:00"))
    # More than is owed: written by neither; the answer explains it.
    payable = _payable(loan, "2026-04-10")
    over = await _post(desk, loan["id"], "2026-04-10", f"{payable + FEN:.2f}")
    assert over.status_code == 422
    assert over.json()["outstanding"] == f"{payable:.2f}"
    # Before the disbursement, and in the future: the same errors as ever.
    early = await _post(desk, loan["id"], "2026-03-09", "1.00")
    assert early.status_code == 422 and "before the disbursement" in early.json()["detail"]
    future = await _post(desk, loan["id"], "2026-04-11", "1.00")
    assert future.status_code == 422 and "future" in future.json()["detail"]
    # Everything: a payoff, which releases the pledges under the lock.
    paid = await _post(desk, loan["id"], "2026-04-10", f"{payable:.2f}")
    assert paid.status_code == 201, paid.text
    assert paid.json()["loan"]["state"] == "paid_off"
    assert one_statement == [False, False, False, False]
    pledges = await conn.fetch(
        "SELECT state FROM pledges WHERE application_id = $1", loan["application_id"]
    )
    assert [p["state"] for p in pledges] == ["released"]
    # A loan no longer active, and one that does not exist: 409 and 404 as before.
    again = await _post(desk, loan["id"], "2026-04-10", "1.00")
    assert again.status_code == 409
    missing = await _post(desk, "01234567-89ab-7def-8123-456789abcdef", "2026-04-10", "1.00")
    assert missing.status_code == 404


@pytest.mark.committed
async def test_concurrent_postings_to_one_loan_each_count_once(
    live_runtime, make_live_key, live_client, clock
):
    from tests.applications.test_concurrency import _world

    desk = await _world(live_runtime, make_live_key, live_client, clock)
    async with live_runtime.database.connection() as db:
        loan = await disbursed(desk, db.conn, clock, method="equal_installment", amount="600000.00")
    clock.set(at("2026-04-10T10:00:00+08:00"))
    responses = await asyncio.gather(
        *[
            live_client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": "2026-04-10", "amount": "100.00"},
                headers=desk.officer,
            )
            for _ in range(8)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    final = (await live_client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)).json()
    assert final["version"] == loan["version"] + 8
    paid = sum(
        Decimal(i["paid_interest"]) + Decimal(i["paid_principal"]) for i in final["schedule"]
    )
    assert paid == Decimal("800.00")
    async with live_runtime.database.connection() as db:
        counts = await db.conn.fetchrow(
            """SELECT (SELECT count(*) FROM loan_repayments WHERE loan_id = $1) AS repayments,
                      (SELECT count(*) FROM audit_events WHERE entity_id = $1::text
                         AND action = 'loan.repayment_posted') AS audited""",
            loan["id"],
        )
    assert (counts["repayments"], counts["audited"]) == (8, 8)
