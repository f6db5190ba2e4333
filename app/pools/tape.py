"""The loan-level data tape (SPEC 3.9): one CSV row per loan of a pool, streamed from a
database cursor in chunks, so that memory stays flat whatever the pool's size.

UTF-8 without a byte-order mark, a header row, comma-separated, RFC 4180 quoting, ``\\r\\n``
line ends. Money has two decimals, shares and coverage four, dates are ISO 8601. A loan with
several pledged assets lists them in one cell each, separated by ``;``, in the same order in
every such column. ``docs/data-tape.md`` documents every column.

A locked (or transferred) pool's tape never changes: its members' facts and pledge cells are
the ones kept at the lock.

Cells a spreadsheet would read as a formula are neutralised (OWASP's advice on CSV
injection): every cell, of every column, that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading ``'``. The rule applies to all cells rather than to text
columns only, so a text column added later is covered without a second thought. It costs the
numbers nothing: money, counts, terms and days past due are never negative in the tape (the
database holds balances above zero and values, terms and days at zero or more), and a rate is
the LPR plus a spread less at most 20 bp, positive for any LPR above 20 bp; a negative rate,
should one ever occur, would carry the ``'`` like any other cell.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from app.core.db import Database
from app.loans.classification import classify
from app.pools import tape_repository

COLUMNS = (
    "pool_id",
    "cut_off_date",
    "loan_id",
    "application_reference",
    "enterprise_id",
    "enterprise_name",
    "credit_code",
    "district_code",
    "industry",
    "original_balance",
    "cut_off_balance",
    "rate_bp",
    "repayment_method",
    "disbursed_on",
    "maturity_date",
    "remaining_months",
    "days_past_due",
    "classification",
    "pledge_count",
    "ip_asset_kinds",
    "ip_asset_numbers",
    "registration_nos",
    "valuations",
    "valuation_dates",
    "pledged_value",
    "coverage",
)
# Rows a chunk: large enough that a chunk is worth a send, small enough to stay a few hundred
# kilobytes.
_CHUNK_ROWS = 500
_PLACES = Decimal("0.0001")
# How long the tape's transaction may sit idle while the client is slow to read a chunk.
_IDLE = "15min"


# What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = frozenset("=+-@\t\r")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def neutralised(cells: Iterable[object]) -> list[str]:
    """The cells as text (``None`` as empty, as the csv module writes it), each with a leading
    ``'`` when a spreadsheet would take it for a formula. On the tape's hot path: one pass, no
    call a cell."""
    out: list[str] = []
    for cell in cells:
        text = cell if isinstance(cell, str) else "" if cell is None else str(cell)
        out.append("'" + text if text[:1] in FORMULA_STARTS else text)
    return out


def _classification(row: Any, cut_off: str) -> str:
    """The loan's risk class at the cut-off, by the servicing engine's bands."""
    defaulted_on = row["defaulted_on"]
    defaulted = defaulted_on is not None and defaulted_on.isoformat() <= cut_off
    return classify(row["days_past_due"], defaulted=defaulted).value


def _line(pool_id: str, cut_off: str, row: Any) -> list[Any]:
    balance: Decimal = row["cut_off_balance"]
    coverage = (row["pledged_value"] / balance).quantize(_PLACES, rounding=ROUND_HALF_UP)
    return [
        pool_id,
        cut_off,
        row["loan_id"],
        row["application_reference"],
        row["enterprise_id"],
        row["enterprise_name"],
        row["credit_code"],
        row["district_code"],
        row["industry"],
        _money(row["original_balance"]),
        _money(balance),
        row["rate_bp"],
        row["repayment_method"],
        row["disbursed_on"].isoformat(),
        row["maturity_date"].isoformat(),
        row["remaining_months"],
        row["days_past_due"],
        _classification(row, cut_off),
        row["pledge_count"],
        row["kinds"] or "",
        row["numbers"] or "",
        row["registration_nos"] or "",
        row["valuations"] or "",
        row["valuation_dates"] or "",
        _money(row["pledged_value"]),
        f"{coverage:.4f}",
    ]


async def stream(
    database: Database,
    *,
    slots: asyncio.Semaphore,
    pool_id: UUID,
    cut_off: date,
    as_of: datetime,
) -> AsyncIterator[bytes]:
    """The tape's bytes. ``slots`` bounds the tapes this process streams at once (each holds a
    connection until its client has read the last row). A locked pool's rows are the facts
    kept at its lock; an open pool's list the valuations recorded by ``as_of``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    pool_text, cut_off_text = str(pool_id), cut_off.isoformat()
    async with slots, database.connection() as db:
        # One snapshot for the whole tape: a member changing meanwhile cannot tear it.
        own = not db.in_transaction()
        transaction = (
            db.conn.transaction(isolation="repeatable_read", readonly=True)
            if own
            else db.transaction()
        )
        async with transaction:
            if own:
                # The transaction stays open while a slow client reads: longer than the
                # server's 60 s idle-in-transaction default between two chunks.
                await db.execute(f"SET LOCAL idle_in_transaction_session_timeout = '{_IDLE}'")
            rows = 0
            rows_in = tape_repository.tape_rows(db, pool_id=pool_id, cut_off=cut_off, as_of=as_of)
            async for row in rows_in:
                writer.writerow(neutralised(_line(pool_text, cut_off_text, row)))
                rows += 1
                if rows % _CHUNK_ROWS == 0:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
    yield buffer.getvalue().encode()
