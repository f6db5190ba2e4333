"""Projections in SQL: the pool's schedule after its cut-off, aggregated by month in the
database, and the stored projections."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.jsonutil import dumps_str

# $1 the pool, $2 its cut-off. Each member's instalments due on or after the cut-off, less what
# had been paid on them by the cut-off (the repayments dated later are undone): one due on the
# cut-off day and unpaid at its end is in the cut-off balance (0 days past due), so it is
# collected after the cut-off, in month 1 (``_MONTHS``). A member's last
# instalment takes any difference between its cut-off balance and its remaining scheduled
# principal, so that the months' principal adds up to the cut-off balances. The members that a
# repayment dated after the cut-off prepaid principal on ($3) are left out: the prepayment
# re-amortised their stored schedule, so the service replays them to the cut-off and hands
# their instalments after it in as rows of their own ($4 due dates, $5 principal, $6 interest).
# Summed by due date (a few hundred dates, whatever the pool's size).
_BY_DATE = """
later AS MATERIALIZED (
    -- What repayments dated after the cut-off paid on instalments due from it: few rows.
    SELECT i.loan_id, i.due_date, sum((x->>'principal')::numeric) AS principal,
           sum((x->>'interest')::numeric) AS interest
    FROM loan_repayments r
    JOIN pool_loans m ON m.loan_id = r.loan_id AND m.pool_id = $1 AND m.loan_id <> ALL($3::uuid[])
    CROSS JOIN LATERAL jsonb_array_elements(r.allocation) AS x
    JOIN loan_installments i ON i.loan_id = r.loan_id AND i.seq = (x->>'seq')::int
    WHERE r.paid_on > $2 AND i.due_date >= $2
    GROUP BY 1, 2
),
per_loan AS (
    SELECT i.loan_id, sum(i.principal - i.paid_principal) AS principal,
           max(i.due_date) AS last_due
    FROM pool_loans m
    JOIN loan_installments i ON i.loan_id = m.loan_id AND i.due_date >= $2
    WHERE m.pool_id = $1 AND m.loan_id <> ALL($3::uuid[])
    GROUP BY 1
),
parts AS (
    SELECT i.due_date, sum(i.principal - i.paid_principal) AS principal,
           sum(i.interest - i.paid_interest) AS interest
    FROM pool_loans m
    JOIN loan_installments i ON i.loan_id = m.loan_id AND i.due_date >= $2
    WHERE m.pool_id = $1 AND m.loan_id <> ALL($3::uuid[])
    GROUP BY 1
    UNION ALL
    SELECT due_date, principal, interest FROM later
    UNION ALL
    SELECT * FROM unnest($4::date[], $5::numeric[], $6::numeric[])
    UNION ALL
    SELECT p.last_due, m.cut_off_balance - p.principal - coalesce(l.principal, 0), 0
    FROM per_loan p
    JOIN pool_loans m ON m.loan_id = p.loan_id AND m.pool_id = $1
    LEFT JOIN (SELECT loan_id, sum(principal) AS principal FROM later GROUP BY 1) l
        ON l.loan_id = p.loan_id
),
by_date AS (
    SELECT due_date, sum(principal) AS principal, sum(interest) AS interest
    FROM parts GROUP BY 1
)"""

# A locked or transferred pool's schedule, frozen at its lock: later postings on its loans
# (a prepayment re-amortises the stored schedule) never change its projection.
_FROZEN = """
by_date AS (
    SELECT due_date, principal, interest FROM pool_schedules WHERE pool_id = $1
)"""

# Each due date put in its month after the cut-off: month t ends on the cut-off's day t months
# on (the month's last day where it has none), or, after a cut-off on a month's last day, on
# the last day of the t-th month after the cut-off's. The cut-off day itself is month 1's.
_MONTHS = """,
months AS (
    SELECT principal, interest, due_date,
           ((date_part('year', due_date) - date_part('year', $2::date)) * 12
            + date_part('month', due_date) - date_part('month', $2::date))::int AS months
    FROM by_date
    WHERE principal <> 0 OR interest <> 0
)
SELECT greatest(1, months + (date_part('day', $2::date + 1) <> 1
                 AND due_date > $2::date + make_interval(months => months))::int) AS period,
       greatest(sum(principal), 0) AS principal, sum(interest) AS interest
FROM months GROUP BY 1 ORDER BY 1"""

_FREEZE = (
    "WITH"
    + _BY_DATE
    + """
INSERT INTO pool_schedules (pool_id, due_date, principal, interest)
SELECT $1, due_date, principal, interest FROM by_date WHERE principal <> 0 OR interest <> 0"""
)

_COLUMNS = """id, pool_id, pool_state, cut_off_date, loan_count, cut_off_balance, scenario,
    structure, breakeven, breakeven_cdr, result, created_at, version"""


@dataclass(frozen=True, slots=True)
class Replayed:
    """The instalments due from the cut-off on of the members whose stored schedule a later
    prepayment re-amortised, as they stood at the cut-off (what was left to pay on each)."""

    loan_ids: list[UUID] = field(default_factory=list)
    due_dates: list[date] = field(default_factory=list)
    principal: list[Decimal] = field(default_factory=list)
    interest: list[Decimal] = field(default_factory=list)

    def args(self) -> tuple[Any, ...]:
        return self.loan_ids, self.due_dates, self.principal, self.interest


async def reamortised_members(db: Db, *, pool_id: UUID, cut_off: date) -> list[UUID]:
    """The members a repayment dated after the cut-off prepaid principal on: their stored
    schedule after the cut-off is no longer the one that stood at the cut-off."""
    rows = await db.fetch(
        """SELECT DISTINCT r.loan_id FROM loan_repayments r
           JOIN pool_loans m ON m.loan_id = r.loan_id AND m.pool_id = $1
           WHERE r.paid_on > $2 AND r.prepaid_principal > 0
           ORDER BY 1""",
        pool_id,
        cut_off,
    )
    return [r["loan_id"] for r in rows]


async def schedule(
    db: Db, *, pool_id: UUID, cut_off: date, frozen: bool, replayed: Replayed
) -> list[asyncpg.Record]:
    """``period``, ``principal`` and ``interest`` for each month after the cut-off that has an
    instalment of the pool's members, in order: from the schedule frozen at the lock when
    ``frozen``, else from the members' current schedules and the ``replayed`` ones."""
    if frozen:
        return await db.fetch("WITH" + _FROZEN + _MONTHS, pool_id, cut_off)
    return await db.fetch("WITH" + _BY_DATE + _MONTHS, pool_id, cut_off, *replayed.args())


async def freeze_schedule(db: Db, *, pool_id: UUID, cut_off: date, replayed: Replayed) -> None:
    """Keep the members' schedule after the cut-off, summed by due date, as it stood at the
    cut-off (``replayed`` for the members a later prepayment re-amortised): the pool's
    projections read it from then on."""
    await db.execute(_FREEZE, pool_id, cut_off, *replayed.args())


async def insert(db: Db, *, values: dict[str, Any]) -> None:
    await db.execute(
        """INSERT INTO pool_projections (id, pool_id, pool_state, cut_off_date, loan_count,
               cut_off_balance, scenario, structure, breakeven, breakeven_cdr, result,
               created_at, created_by, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11::jsonb, $12,
                   $13, 1)""",
        values["id"],
        values["pool_id"],
        values["pool_state"],
        values["cut_off_date"],
        values["loan_count"],
        values["cut_off_balance"],
        dumps_str(values["scenario"]),
        dumps_str(values["structure"]),
        values["breakeven"],
        values["breakeven_cdr"],
        dumps_str(values["result"]),
        values["created_at"],
        values["created_by"],
    )


async def get(db: Db, *, pool_id: UUID, projection_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {_COLUMNS} FROM pool_projections WHERE id = $1 AND pool_id = $2",
        projection_id,
        pool_id,
    )
