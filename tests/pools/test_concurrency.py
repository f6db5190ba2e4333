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


async def test_lock_holds_the_members_until_it_commits(
    live_runtime, make_live_key, live_client, clock
):
    """A default (or a back-dated repayment) takes its loan FOR UPDATE. While one is in
    flight, locking the pool waits for it and then sees it, instead of freezing facts the
    default is about to make stale."""
    from tests import factories

    clock.set(at(TODAY))
    async with live_runtime.database.connection() as db:
        enterprise = await factories.enterprise(db.conn)
        desk = await live_desk(make_live_key, live_client, enterprise, conn=db.conn)
        book = Book(
            desk=desk, conn=db.conn, clock=clock, desk_key=await make_live_key("securitization")
        )
        loan = await book.loan("1000000.00", enterprise=enterprise)
        pool = await book.pool("5000000.00", limits=NO_LIMITS)
        await book.add(pool, loan)  # left in this open pool: no later selection may take it
        async with live_runtime.database.connection() as other:
            defaulting = other.conn.transaction()
            await defaulting.start()
            await other.execute("SELECT 1 FROM loans WHERE id = $1 FOR UPDATE", loan["id"])
            lock = asyncio.create_task(
                live_client.post(f"/v1/pools/{pool['id']}/lock", headers=book.desk_key)
            )
            for _ in range(400):
                waiting = await db.fetchval(
                    """SELECT count(*) FROM pg_stat_activity
                       WHERE datname = current_database() AND wait_event_type = 'Lock'
                         AND query LIKE '%FOR SHARE%'"""
                )
                if waiting or lock.done():
                    break
                await asyncio.sleep(0.025)
            assert not lock.done(), "the lock did not wait for the loan being defaulted"
            await other.execute(
                """UPDATE loans SET state = 'defaulted', defaulted_on = '2025-02-03',
                          default_reason = 'insolvency', version = version + 1
                   WHERE id = $1""",
                loan["id"],
            )
            await defaulting.commit()
        response = await lock
        assert response.status_code == 409, response.text
        assert response.json()["type"].endswith("loan-not-eligible")
        assert "defaulted, not active" in response.text


async def test_tapes_stream_in_their_own_transaction(live_runtime, make_live_key, live_client):
    """Outside the tests' bound connection a tape opens its own read-only snapshot (with a
    longer idle timeout): two at once both stream."""
    key = await make_live_key("securitization")
    body = {"name": "empty", "cut_off_date": "2025-01-31", "target_balance": "1000.00"}
    pool = (await live_client.post("/v1/pools", json=body, headers=key)).json()
    responses = await asyncio.gather(
        *[live_client.get(f"/v1/pools/{pool['id']}/tape", headers=key) for _ in range(2)]
    )
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["x-tape-rows"] == "0"
        assert response.text.startswith("pool_id,cut_off_date,")
