"""The data tape's SQL (SPEC 3.9): its rows, read through a cursor, and the pledge cells a
lock keeps so that a locked pool's tape never changes afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.models.pledge import PledgeState
from app.models.pool import PoolState


def _element(text: str) -> str:
    r"""A list element as the tape writes it: a software copyright number is free text and a
    registration number the registry's, so either may hold the separator. ``\`` and ``;``
    are written ``\\`` and ``\;``, so that a cell splits into exactly one element an asset."""
    return rf"replace(replace({text}, '\', '\\'), ';', '\;')"


# The tape's cells about the pledges of loan ``l``: $2 the cut-off date, $3 the instant the
# valuations listed were recorded by. A lock keeps them (``freeze_pledge_cells``).
_PLEDGE_CELLS = f"""
    SELECT count(*) AS pledge_count,
           string_agg(ia.kind, ';' ORDER BY ia.kind, ia.number) AS kinds,
           string_agg({_element("ia.number")}, ';' ORDER BY ia.kind, ia.number) AS numbers,
           string_agg({_element("coalesce(p.registration_no, '')")}, ';'
                      ORDER BY ia.kind, ia.number)
               AS registration_nos,
           string_agg(coalesce(v.value::text, ''), ';' ORDER BY ia.kind, ia.number)
               AS valuations,
           string_agg(coalesce(v.valuation_date::text, ''), ';' ORDER BY ia.kind, ia.number)
               AS valuation_dates
    FROM pledges p
    JOIN ip_assets ia ON ia.id = p.ip_asset_id
    LEFT JOIN LATERAL (
        SELECT iv.value, iv.valuation_date FROM ip_asset_valuations iv
        WHERE iv.ip_asset_id = p.ip_asset_id AND iv.valuation_date <= $2
          AND iv.created_at <= $3
        ORDER BY iv.valuation_date DESC, iv.id DESC LIMIT 1
    ) v ON true
    WHERE p.application_id = l.application_id AND p.state <> '{PledgeState.CANCELLED}'"""

# The same cells as a locked pool's member keeps them.
_PLEDGE_CELLS_AT_LOCK = """
    SELECT (pl.pledges_at_lock->>'pledge_count')::bigint AS pledge_count,
           pl.pledges_at_lock->>'kinds' AS kinds,
           pl.pledges_at_lock->>'numbers' AS numbers,
           pl.pledges_at_lock->>'registration_nos' AS registration_nos,
           pl.pledges_at_lock->>'valuations' AS valuations,
           pl.pledges_at_lock->>'valuation_dates' AS valuation_dates"""

# $1 the pool; the pledge cells ``a`` are one of the two above. The maturity is the one of the
# schedule as it stood at the cut-off, as ``remaining_months`` is, not the loan's today (a
# later shortened term or payoff would move it, and change a locked pool's tape): the
# instalments due by the cut-off, which no later posting touches, and the ``remaining_months``
# kept with the member, monthly from the disbursement (PostgreSQL's month arithmetic clips to
# the month's end as the schedule does; ``app.pools.repository`` reads the term the same way).
_TAPE = """
SELECT pl.loan_id, ap.reference AS application_reference, l.enterprise_id,
       e.name AS enterprise_name, e.credit_code, pl.district_code, pl.industry,
       l.principal AS original_balance, pl.cut_off_balance, pl.rate_bp, l.repayment_method,
       l.disbursed_on,
       (l.disbursed_on + make_interval(months => pl.remaining_months + (
            SELECT count(*)::int FROM loan_installments i
            WHERE i.loan_id = l.id AND i.due_date <= pool.cut_off_date)))::date AS maturity_date,
       pl.remaining_months, pl.days_past_due, l.defaulted_on,
       a.pledge_count, a.kinds, a.numbers, a.registration_nos, a.valuations, a.valuation_dates,
       pl.pledged_value
FROM pool_loans pl
JOIN pools pool ON pool.id = pl.pool_id
JOIN loans l ON l.id = pl.loan_id
JOIN enterprises e ON e.id = l.enterprise_id
JOIN applications ap ON ap.id = l.application_id
CROSS JOIN LATERAL ({pledge_cells}) a
WHERE pl.pool_id = $1
ORDER BY pl.loan_id"""
TAPE = _TAPE.format(pledge_cells=_PLEDGE_CELLS)
TAPE_AT_LOCK = _TAPE.format(pledge_cells=_PLEDGE_CELLS_AT_LOCK)

_FREEZE_PLEDGE_CELLS = f"""
UPDATE pool_loans pl SET pledges_at_lock = to_jsonb(a)
FROM loans l, LATERAL ({_PLEDGE_CELLS}) a
WHERE pl.pool_id = $1 AND l.id = pl.loan_id"""


async def freeze_pledge_cells(db: Db, *, pool_id: UUID, cut_off: date, as_of: datetime) -> None:
    """Keep each member's pledge cells as the tape shows them now (valuations recorded by
    ``as_of``, the lock): a locked pool's tape reads these, so that nothing posted after the
    lock, whatever its timestamp, changes it."""
    await db.execute(_FREEZE_PLEDGE_CELLS, pool_id, cut_off, as_of)


async def is_locked(db: Db, pool_id: UUID) -> bool:
    """Whether the pool is locked (or transferred), as the caller's snapshot sees it."""
    return bool(
        await db.fetchval(f"SELECT state <> '{PoolState.OPEN}' FROM pools WHERE id = $1", pool_id)
    )


async def tape_rows(
    db: Db, *, pool_id: UUID, cut_off: date, as_of: datetime
) -> AsyncIterator[asyncpg.Record]:
    """The tape's rows, fetched a thousand at a time through a cursor (inside the caller's
    transaction), so that memory stays flat whatever the pool's size. A locked pool's pledge
    cells are those kept at its lock; an open pool's list the valuations recorded by
    ``as_of``."""
    if await is_locked(db, pool_id):
        cursor = db.conn.cursor(TAPE_AT_LOCK, pool_id, prefetch=1000)
    else:
        cursor = db.conn.cursor(TAPE, pool_id, cut_off, as_of, prefetch=1000)
    async for row in cursor:
        yield row
