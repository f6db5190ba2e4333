"""Two pools competing for one loan, with real commits on separate connections: the loan ends
up in exactly one of them."""

from __future__ import annotations

import asyncio

import pytest

from tests.desk import live_desk
from tests.factories import at
from tests.pools.conftest import NO_LIMITS, TODAY, Book

pytestmark = pytest.mark.committed


async def test_two_pools_competing_for_one_loan(live_runtime, make_live_key, live_client, clock):
    from tests import factories

    clock.set(at(TODAY))
    async with live_runtime.database.connection() as db:  # autocommit: the API sees it
        enterprise = await factories.enterprise(db.conn)
        desk = await live_desk(make_live_key, live_client, enterprise, conn=db.conn)
        book = Book(
            desk=desk, conn=db.conn, clock=clock, desk_key=await make_live_key("securitization")
        )
        loan = await book.loan("1000000.00", enterprise=enterprise)
        pools = [await book.pool("5000000.00", limits=NO_LIMITS) for _ in range(2)]
        for round_ in range(3):
            responses = await asyncio.gather(
                *[
                    live_client.post(
                        f"/v1/pools/{p['id']}/loans",
                        json={"loan_id": loan["id"]},
                        headers=book.desk_key,
                    )
                    for p in pools
                ]
            )
            statuses = sorted(r.status_code for r in responses)
            holders = await db.fetch(
                "SELECT pool_id::text FROM pool_loans WHERE loan_id = $1", loan["id"]
            )
            assert statuses == [200, 409], [r.text for r in responses]
            assert len(holders) == 1 and holders[0]["pool_id"] in {p["id"] for p in pools}
            loser = next(r for r in responses if r.status_code == 409).json()
            assert loser["type"].endswith("loan-already-pooled")
            if round_ == 2:
                break  # left pooled: no later test's selection may find this committed loan
            await live_client.delete(
                f"/v1/pools/{holders[0]['pool_id']}/loans/{loan['id']}", headers=book.desk_key
            )
