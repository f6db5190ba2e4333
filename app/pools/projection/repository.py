"""Projections in SQL: the pool's schedule after its cut-off, aggregated by month in the
database, and the stored projections."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.jsonutil import dumps_str

# $1 the pool, $2 its cut-off. Each member's instalments due after the cut-off, less what had
# been paid on them by the cut-off (the repayments dated later are undone), each in its month
# after the cut-off: month t ends on the cut-off's day t months on (the month's last day where
# it has none). A member's last instalment takes any difference between its cut-off balance
# and its remaining scheduled principal (a prepayment posted after the cut-off re-amortises
# the stored schedule), so that the months' principal adds up to the cut-off balances.
_SCHEDULE = """
WITH members AS MATERIALIZED (
    SELECT loan_id, cut_off_balance FROM pool_loans WHERE pool_id = $1
),
later AS (
    SELECT r.loan_id, (x->>'seq')::int AS seq,
           sum((x->>'principal')::numeric) AS principal, sum((x->>'interest')::numeric) AS interest
    FROM loan_repayments r
    JOIN members m ON m.loan_id = r.loan_id
    CROSS JOIN LATERAL jsonb_array_elements(r.allocation) AS x
    WHERE r.paid_on > $2
    GROUP BY 1, 2
),
due AS (
    SELECT i.loan_id, m.cut_off_balance, i.due_date,
           i.principal - i.paid_principal + coalesce(l.principal, 0) AS principal,
           i.interest - i.paid_interest + coalesce(l.interest, 0) AS interest,
           ((extract(year FROM i.due_date) - extract(year FROM $2::date)) * 12
            + extract(month FROM i.due_date) - extract(month FROM $2::date))::int AS months
    FROM members m
    JOIN loan_installments i ON i.loan_id = m.loan_id AND i.due_date > $2
    LEFT JOIN later l ON l.loan_id = i.loan_id AND l.seq = i.seq
),
placed AS (
    SELECT principal, interest,
           months + (due_date > $2::date + make_interval(months => months))::int AS period,
           CASE WHEN row_number() OVER (PARTITION BY loan_id ORDER BY due_date DESC) = 1
                THEN cut_off_balance - sum(principal) OVER (PARTITION BY loan_id)
                ELSE 0 END AS balance_left
    FROM due
)
SELECT period, greatest(sum(principal + balance_left), 0) AS principal, sum(interest) AS interest
FROM placed GROUP BY period ORDER BY period"""

_COLUMNS = """id, pool_id, pool_state, cut_off_date, loan_count, cut_off_balance, scenario,
    structure, breakeven, breakeven_cdr, result, created_at, version"""


async def schedule(db: Db, *, pool_id: UUID, cut_off: date) -> list[asyncpg.Record]:
    """``period``, ``principal`` and ``interest`` for each month after the cut-off that has an
    instalment of the pool's members, in order."""
    return await db.fetch(_SCHEDULE, pool_id, cut_off)


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
