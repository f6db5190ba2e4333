"""Several workers sweeping at once, while repayments are posted, announce each class change
exactly once (committed mode: real transactions and row locks)."""

import asyncio
from decimal import Decimal

import pytest

from app.loans import sweep
from tests.factories import at
from tests.lifecycle import disbursed


@pytest.mark.committed
async def test_sweeps_and_postings_announce_each_change_once(
    live_runtime, make_live_key, live_client, clock
):
    from tests.applications.test_concurrency import _world

    desk = await _world(live_runtime, make_live_key, live_client, clock)
    loans = []
    async with live_runtime.database.connection() as db:
        for _ in range(4):
            loans.append(
                await disbursed(desk, db.conn, clock, method="equal_principal", amount="100000.00")
            )
    # Instalment 1 fell due on 10 April: ten days past due on 20 April.
    clock.set(at("2026-04-20T10:00:00+08:00"))
    cures = []
    for loan in loans[2:]:
        view = (await live_client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)).json()
        first = view["schedule"][0]
        owed = (
            Decimal(first["principal"])
            + Decimal(first["interest"])
            + Decimal(view["penalty_interest_due"])
        )
        cures.append(
            live_client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": "2026-04-20", "amount": f"{owed:.2f}"},
                headers=desk.officer,
            )
        )
    results = await asyncio.gather(
        *[sweep.classification_sweep(live_runtime) for _ in range(3)], *cures
    )
    assert all(r.status_code == 201 for r in results[3:])
    await sweep.classification_sweep(live_runtime)
    async with live_runtime.database.connection() as db:
        for n, loan in enumerate(loans):
            events = [
                r["cls"]
                for r in await db.fetch(
                    """SELECT data->>'classification' AS cls FROM outbox_events
                       WHERE type = 'loan.classification_changed' AND data->>'loan_id' = $1
                       ORDER BY id""",
                    loan["id"],
                )
            ]
            stored = await db.fetchval(
                "SELECT classification FROM loans WHERE id = $1::uuid", loan["id"]
            )
            if n < 2:  # never paid: special mention, announced once
                assert events == ["special_mention"], events
                assert stored == "special_mention"
            else:  # cured: either never announced late, or late then normal, once each
                assert events in ([], ["special_mention", "normal"]), events
                assert stored == "normal"
