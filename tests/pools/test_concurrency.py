"""Pools racing other changes, with real commits on separate connections: two pools competing
for one loan (it ends up in exactly one of them), and a lock racing a default or a back-dated
repayment of a member (the lock's frozen facts stay the loan's own)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from app.core.context import Principal
from app.core.roles import Role
from app.pools import service as pools_service
from tests.desk import live_desk
from tests.factories import at
from tests.pools.conftest import CUT_OFF, NO_LIMITS, TODAY, Book

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
                         AND query LIKE '%ORDER BY id FOR UPDATE%'"""
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


async def _pooled_loan(live_runtime, make_live_key, live_client, clock, db):
    from tests import factories

    clock.set(at(TODAY))
    enterprise = await factories.enterprise(db.conn)
    desk = await live_desk(make_live_key, live_client, enterprise, conn=db.conn)
    book = Book(
        desk=desk, conn=db.conn, clock=clock, desk_key=await make_live_key("securitization")
    )
    loan = await book.loan("1000000.00", enterprise=enterprise)
    pool = await book.pool("5000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)  # locked below: no later selection may take it
    return book, loan, pool


async def _balance_at_cut_off(db, loan_id) -> Decimal:
    return await db.fetchval(
        """SELECT l.principal - coalesce(sum(r.principal_paid), 0)
           FROM loans l LEFT JOIN loan_repayments r ON r.loan_id = l.id AND r.paid_on <= $2
           WHERE l.id = $1 GROUP BY l.id""",
        loan_id,
        date.fromisoformat(CUT_OFF),
    )


async def test_a_back_dated_repayment_racing_the_lock_is_refused(
    live_runtime, make_live_key, live_client, clock
):
    """Found by racing repayments against a pool's lock: a repayment dated before the cut-off
    that read the loan before the lock waited for it, then posted against the version it
    had read, so the frozen cut-off balance no longer matched the loan's own history (and the
    tape disagreed with the loan). The lock moves its members to a new version; the posting is
    then made again under the loan's lock, sees the pool locked, and is refused."""
    async with live_runtime.database.connection() as db:
        book, loan, pool = await _pooled_loan(live_runtime, make_live_key, live_client, clock, db)
        desk_key = Principal(key_id=UUID(book.desk_key["X-Key-Id"]), role=Role.SECURITIZATION)
        async with live_runtime.unit_of_work(desk_key) as ctx:
            locked = await pools_service.lock_pool(ctx, pool_id=UUID(pool["id"]))
            assert locked.state == "locked"  # written, not yet committed
            repayment = asyncio.create_task(
                live_client.post(
                    f"/v1/loans/{loan['id']}/repayments",
                    json={"paid_on": "2025-01-20", "amount": "100000.00"},
                    headers=book.desk.officer,
                )
            )
            await asyncio.sleep(0.5)
            assert not repayment.done(), repayment.result().text
        response = await repayment

        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "paid_on"]
        frozen = await db.fetchval(
            "SELECT cut_off_balance FROM pool_loans WHERE loan_id = $1", loan["id"]
        )
        assert frozen == await _balance_at_cut_off(db, loan["id"]) == Decimal("1000000.00")


async def test_a_locked_pools_loan_is_repaid_after_its_cut_off_only(
    live_runtime, make_live_key, live_client, clock
):
    async with live_runtime.database.connection() as db:
        book, loan, pool = await _pooled_loan(live_runtime, make_live_key, live_client, clock, db)
        read = await live_client.get(f"/v1/loans/{loan['id']}", headers=book.desk.officer)
        await book.post(pool, "lock")
        # The lock is a change of its loans: a version read before it is stale.
        stale = await live_client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2025-02-01", "amount": "100.00"},
            headers={**book.desk.officer, "If-Match": read.headers["etag"]},
        )
        assert stale.status_code == 412, stale.text

        for paid_on in ("2025-01-20", CUT_OFF):
            refused = await live_client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": paid_on, "amount": "100.00"},
                headers=book.desk.officer,
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["loc"] == ["body", "paid_on"]
            assert CUT_OFF in refused.json()["detail"]
        posted = await live_client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": "2025-02-01", "amount": "100.00"},
            headers=book.desk.officer,
        )
        assert posted.status_code == 201, posted.text
        frozen = await db.fetchval(
            "SELECT cut_off_balance FROM pool_loans WHERE loan_id = $1", loan["id"]
        )
        assert frozen == await _balance_at_cut_off(db, loan["id"]) == Decimal("1000000.00")
