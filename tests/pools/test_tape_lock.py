"""A locked (or transferred) pool's tape never changes afterwards (SPEC 3.9): a valuation
posted after the lock, whatever the clock of the process that records it says, leaves every
byte of it as it was; an open pool's tape lists valuations as they are."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.pools.conftest import NO_LIMITS


async def _tape(book, pool: dict) -> bytes:
    response = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape", headers=book.desk_key)
    assert response.status_code == 200, response.text
    return response.content


async def _first_asset(book, loan: dict) -> str:
    return await book.conn.fetchval(
        "SELECT min(p.ip_asset_id::text) FROM pledges p "
        "JOIN loans l ON l.application_id = p.application_id WHERE l.id = $1",
        loan["id"],
    )


async def _value(book, asset: str, value: str, valuation_date: str) -> None:
    response = await book.desk.client.post(
        f"/v1/ip-assets/{asset}/valuations",
        json={
            "value": value,
            "appraiser": "Shenzhen Appraisal Co.",
            "method": "income",
            "valuation_date": valuation_date,
        },
        headers=book.desk.officer,
    )
    assert response.status_code == 201, response.text


def _row(tape: bytes) -> dict:
    (row,) = list(csv.DictReader(io.StringIO(tape.decode())))
    return row


async def test_a_valuation_after_the_lock_changes_no_byte(book):
    loan = await book.loan("3000000.00", assets=2, value="4000000.00")
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)
    pool = await book.post(pool, "lock")
    locked = await _tape(book, pool)
    assert _row(locked)["valuations"] == "4000000.00;4000000.00"
    asset = await _first_asset(book, loan)
    # Recorded at the very instant of the lock, then by a process whose clock runs behind:
    # neither timestamp is after the lock, and neither may reach the tape.
    await _value(book, asset, "9000000.00", "2025-01-20")
    book.clock.set(book.clock.now() - timedelta(seconds=5))
    await _value(book, asset, "12000000.00", "2025-01-25")
    assert await _tape(book, pool) == locked
    book.clock.set(book.clock.now() + timedelta(days=2))
    pool = await book.post(
        pool, "transfer", spv_name="Shenzhen IP ABS Trust", transfer_date="2025-02-05"
    )
    await _value(book, asset, "15000000.00", "2025-01-30")
    assert await _tape(book, pool) == locked


async def test_an_open_pools_tape_lists_valuations_as_they_are(book):
    loan = await book.loan("3000000.00", assets=2, value="4000000.00")
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)
    await _value(book, await _first_asset(book, loan), "9000000.00", "2025-01-20")
    row = _row(await _tape(book, pool))
    assert sorted(row["valuations"].split(";")) == ["4000000.00", "9000000.00"]


async def test_the_lock_keeps_what_the_tape_showed_when_open(book):
    loan = await book.loan("3000000.00", assets=2, value="4000000.00")
    other = await book.loan("1000000.00", value="2500000.00")
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)
    await book.add(pool, other)
    open_tape = await _tape(book, pool)
    pool = await book.post(pool, "lock")
    assert await _tape(book, pool) == open_tape
