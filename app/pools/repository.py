"""Pools in SQL. The facts of a loan at a pool's cut-off are computed from what the database
holds now, undoing the repayments dated after the cut-off: those are few when the cut-off is
recent, and an index on ``paid_on`` finds them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.jsonutil import dumps_str
from app.core.sql import Filters
from app.models.loan import LoanState
from app.models.pledge import PledgeState
from app.models.pool import PoolState
from app.pools.rules import LoanFacts

POOL_COLUMNS = """p.id, p.name, p.state, p.cut_off_date, p.target_balance, p.criteria,
    p.max_obligor_share, p.max_industry_share, p.max_district_share, p.last_selection,
    p.spv_name, p.transfer_date, p.locked_at, p.transferred_at, p.created_at, p.updated_at,
    p.version"""

# The members' sums per pool, for the pools whose ids ``{ids}`` names: the statistics' raw
# material, from one pass over the members.
_STATS = """
members AS MATERIALIZED (
    SELECT pool_id, enterprise_id, industry, district_code, cut_off_balance AS b, rate_bp,
           remaining_months, pledged_value
    FROM pool_loans WHERE pool_id = ANY({ids})
),
totals AS (
    SELECT pool_id, count(*) AS loan_count, count(DISTINCT enterprise_id) AS obligor_count,
           sum(b) AS balance, sum(b * rate_bp) AS rate_weight,
           sum(b * remaining_months) AS term_weight, sum(pledged_value) AS pledged_value
    FROM members GROUP BY pool_id
),
obligors AS (
    SELECT pool_id, max(s) AS max_obligor
    FROM (SELECT pool_id, sum(b) AS s FROM members GROUP BY pool_id, enterprise_id) o
    GROUP BY pool_id
),
industries AS (
    SELECT pool_id, jsonb_object_agg(industry, s) AS industries
    FROM (SELECT pool_id, industry, sum(b)::text AS s FROM members GROUP BY 1, 2) x
    GROUP BY pool_id
),
districts AS (
    SELECT pool_id, jsonb_object_agg(district_code, s) AS districts
    FROM (SELECT pool_id, district_code, sum(b)::text AS s FROM members GROUP BY 1, 2) x
    GROUP BY pool_id
),
stats AS (
    SELECT * FROM totals JOIN obligors USING (pool_id) JOIN industries USING (pool_id)
    JOIN districts USING (pool_id)
)"""
STATS_COLUMNS = """s.loan_count, s.obligor_count, s.balance, s.rate_weight, s.term_weight,
    s.pledged_value, s.max_obligor, s.industries, s.districts"""

# $1 the cut-off date; the WHERE clause names the loans, ``{scope}`` narrows the later
# repayments read to those loans' (empty for the bulk selection, which reads them all), and
# ``{as_of}`` is the instant the facts are taken at: a valuation recorded after it is not
# counted, as the tape of a locked pool does not count one recorded after its lock.
_FACTS = f"""
WITH later AS MATERIALIZED (
    -- The principal they repaid, and the schedule's length at the cut-off: what the first of
    -- them was posted on (a shortened term or a payoff drops instalments from the end).
    SELECT r.loan_id, sum(r.principal_paid) AS principal,
           (array_agg(r.installments_before ORDER BY r.paid_on, r.created_at, r.id))[1]
               AS installments
    FROM loan_repayments r WHERE r.paid_on > $1 {{scope}} GROUP BY r.loan_id
),
later_due AS MATERIALIZED (
    -- An instalment a later repayment paid anything on was unpaid at the cut-off.
    SELECT r.loan_id, min(i.due_date) AS oldest
    FROM loan_repayments r
    CROSS JOIN LATERAL jsonb_array_elements(r.allocation) AS x
    JOIN loan_installments i ON i.loan_id = r.loan_id AND i.seq = (x->>'seq')::int
    WHERE r.paid_on > $1 AND i.due_date <= $1 {{scope}}
      AND ((x->>'principal')::numeric > 0 OR (x->>'interest')::numeric > 0)
    GROUP BY r.loan_id
)
SELECT * FROM (
    SELECT l.id AS loan_id, l.enterprise_id, l.industry, l.district_code, l.state,
           l.disbursed_on, l.rate_bp, pl.pool_id AS in_pool,
           l.outstanding_principal + coalesce(later.principal, 0) AS cut_off_balance,
           -- Instalments are due monthly on the disbursement's day (PostgreSQL's month
           -- arithmetic clips to the month's end as the schedule does).
           CASE WHEN later.installments IS NULL THEN l.maturity_date
                ELSE (l.disbursed_on + make_interval(months => later.installments))::date
           END AS maturity_date,
           coalesce(later.installments - s.due_by_cut_off, s.remaining_months)
               AS remaining_months,
           coalesce($1 - least(s.oldest_unsettled, later_due.oldest), 0) AS days_past_due,
           g.registered, g.unregistered, g.pledged_value
    FROM loans l
    LEFT JOIN pool_loans pl ON pl.loan_id = l.id
    LEFT JOIN later ON later.loan_id = l.id
    LEFT JOIN later_due ON later_due.loan_id = l.id
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE i.due_date > $1)::int AS remaining_months,
               count(*) FILTER (WHERE i.due_date <= $1)::int AS due_by_cut_off,
               min(i.due_date) FILTER (
                   WHERE i.due_date <= $1
                     AND (i.paid_principal < i.principal OR i.paid_interest < i.interest)
               ) AS oldest_unsettled
        FROM loan_installments i WHERE i.loan_id = l.id
    ) s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE p.state = '{PledgeState.REGISTERED}')::int AS registered,
               count(*) FILTER (
                   WHERE p.state NOT IN ('{PledgeState.REGISTERED}', '{PledgeState.CANCELLED}')
               )::int AS unregistered,
               coalesce(sum(v.value) FILTER (WHERE p.state = '{PledgeState.REGISTERED}'), 0)
                   AS pledged_value
        FROM pledges p
        LEFT JOIN LATERAL (
            SELECT iv.value FROM ip_asset_valuations iv
            WHERE iv.ip_asset_id = p.ip_asset_id AND iv.valuation_date <= $1
              AND iv.created_at <= {{as_of}}
            ORDER BY iv.valuation_date DESC, iv.id DESC LIMIT 1
        ) v ON true
        WHERE p.application_id = l.application_id
    ) g
    {{where}}
) facts
{{outer}}"""


def _facts_rows(rows: Sequence[asyncpg.Record]) -> list[LoanFacts]:
    return [LoanFacts.from_row(r) for r in rows]


async def eligible_facts(
    db: Db, *, pool_id: UUID, cut_off: date, as_of: datetime, criteria: dict[str, Any]
) -> list[LoanFacts]:
    """The facts of every loan the pool may hold, in loan id order."""
    inner = Filters(cut_off, pool_id)
    as_of_param = inner.param(as_of)
    inner.add(f"l.state = '{LoanState.ACTIVE}'").add("l.disbursed_on <= $1")
    inner.add("(pl.pool_id IS NULL OR pl.pool_id = $2)")
    inner.when(criteria.get("districts"), "l.district_code = ANY({})")
    inner.when(criteria.get("industries"), "l.industry = ANY({})")
    outer = [
        "days_past_due = 0",
        "registered > 0",
        "unregistered = 0",
        "cut_off_balance > 0",
        # At least so many calendar months to maturity; a day past the month's end clips to
        # its last day, as rules.ineligibility's month arithmetic does.
        "maturity_date >= ($1::date + make_interval(months => "
        f"{inner.param(criteria['min_remaining_months'])}))",
    ]
    if criteria.get("min_balance") is not None:
        outer.append(f"cut_off_balance >= {inner.param(criteria['min_balance'])}::numeric")
    if criteria.get("max_balance") is not None:
        outer.append(f"cut_off_balance <= {inner.param(criteria['max_balance'])}::numeric")
    sql = _FACTS.format(
        scope="",
        as_of=as_of_param,
        where=inner.where(),
        outer="WHERE " + " AND ".join(outer) + " ORDER BY loan_id",
    )
    return _facts_rows(await db.fetch(sql, *inner.args))


async def loan_facts(db: Db, *, cut_off: date, as_of: datetime, loan_id: UUID) -> LoanFacts | None:
    sql = _FACTS.format(scope="AND r.loan_id = $2", as_of="$3", where="WHERE l.id = $2", outer="")
    rows = await db.fetch(sql, cut_off, loan_id, as_of)
    return LoanFacts.from_row(rows[0]) if rows else None


async def member_facts(db: Db, *, pool_id: UUID, cut_off: date, as_of: datetime) -> list[LoanFacts]:
    sql = _FACTS.format(
        scope="AND r.loan_id IN (SELECT loan_id FROM pool_loans WHERE pool_id = $2)",
        as_of="$3",
        where="WHERE pl.pool_id = $2",
        outer="ORDER BY loan_id",
    )
    return _facts_rows(await db.fetch(sql, cut_off, pool_id, as_of))


async def lock_members(db: Db, *, pool_id: UUID) -> None:
    """Share-lock the pool's member loans, in id order: a repayment or a default (each takes
    its loan FOR UPDATE) then waits for the caller's commit instead of landing between the
    caller's read of the members' facts and that commit."""
    await db.execute(
        """SELECT 1 FROM loans
           WHERE id IN (SELECT loan_id FROM pool_loans WHERE pool_id = $1)
           ORDER BY id FOR SHARE""",
        pool_id,
    )


async def insert_pool(db: Db, *, values: dict[str, Any]) -> asyncpg.Record:
    row = await db.fetchrow(
        f"""INSERT INTO pools AS p (id, name, state, cut_off_date, target_balance, criteria,
               max_obligor_share, max_industry_share, max_district_share, created_at,
               updated_at, created_by, version)
           VALUES ($1, $2, '{PoolState.OPEN}', $3, $4, $5::jsonb, $6, $7, $8, $9, $9, $10, 1)
           RETURNING {POOL_COLUMNS}""",
        values["id"],
        values["name"],
        values["cut_off_date"],
        values["target_balance"],
        dumps_str(values["criteria"]),
        values["max_obligor_share"],
        values["max_industry_share"],
        values["max_district_share"],
        values["created_at"],
        values["created_by"],
    )
    assert row is not None
    return row


async def get_for_update(db: Db, pool_id: UUID) -> asyncpg.Record | None:
    """The pool's row alone, under its row lock, so that changes to one pool's membership
    happen one at a time."""
    return await db.fetchrow(
        f"SELECT {POOL_COLUMNS} FROM pools p WHERE p.id = $1 FOR UPDATE", pool_id
    )


async def get_for_tape(db: Db, pool_id: UUID) -> asyncpg.Record | None:
    """The pool's row and how many members it has: what a tape needs before it starts."""
    return await db.fetchrow(
        f"""SELECT {POOL_COLUMNS},
                   (SELECT count(*) FROM pool_loans pl WHERE pl.pool_id = p.id) AS loan_count
            FROM pools p WHERE p.id = $1""",
        pool_id,
    )


async def member_totals(db: Db, *, pool_id: UUID) -> asyncpg.Record:
    """How many members the pool holds, their cut-off balances' sum, and which loans they are
    (oldest id first)."""
    row = await db.fetchrow(
        """SELECT count(*) AS loan_count, coalesce(sum(cut_off_balance), 0.00) AS balance,
                  coalesce(array_agg(loan_id ORDER BY loan_id), '{}') AS loan_ids
           FROM pool_loans WHERE pool_id = $1""",
        pool_id,
    )
    assert row is not None
    return row


async def get_with_stats(db: Db, pool_id: UUID) -> asyncpg.Record | None:
    """The pool and its members' sums, in one statement."""
    return await db.fetchrow(
        f"""WITH {_STATS.format(ids="ARRAY[$1::uuid]")}
            SELECT {POOL_COLUMNS}, {STATS_COLUMNS}
            FROM pools p LEFT JOIN stats s ON s.pool_id = p.id WHERE p.id = $1""",
        pool_id,
    )


async def page(db: Db, *, filters: Filters, limit_param: str) -> list[asyncpg.Record]:
    """A page of pools with their members' sums: the page first, then the sums of its pools."""
    return await db.fetch(
        f"""WITH page AS MATERIALIZED (
                SELECT {POOL_COLUMNS} FROM pools p {filters.where()}
                ORDER BY p.id DESC LIMIT {limit_param}
            ),
            {_STATS.format(ids="ARRAY(SELECT id FROM page)")}
            SELECT p.*, {STATS_COLUMNS}
            FROM page p LEFT JOIN stats s ON s.pool_id = p.id ORDER BY p.id DESC""",
        *filters.args,
    )


_SNAPSHOT_ARRAYS = """unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::numeric[],
           $7::int[], $8::smallint[], $9::int[], $10::numeric[])
    AS f(loan_id, enterprise_id, industry, district_code, cut_off_balance, rate_bp,
         remaining_months, days_past_due, pledged_value)"""


def _snapshot_args(facts: Sequence[LoanFacts]) -> list[list[Any]]:
    return [
        [f.loan_id for f in facts],
        [f.enterprise_id for f in facts],
        [f.industry for f in facts],
        [f.district_code for f in facts],
        [f.cut_off_balance for f in facts],
        [f.rate_bp for f in facts],
        [f.remaining_months for f in facts],
        [f.days_past_due for f in facts],
        [f.pledged_value for f in facts],
    ]


async def replace_members(
    db: Db, *, pool_id: UUID, facts: Sequence[LoanFacts], now: datetime
) -> int:
    """Make ``facts`` the pool's whole membership; returns how many of them it now holds
    (fewer when another pool holds some: those are left where they are)."""
    await db.execute(
        "DELETE FROM pool_loans WHERE pool_id = $1 AND loan_id <> ALL($2::uuid[])",
        pool_id,
        [f.loan_id for f in facts],
    )
    return await add_members(db, pool_id=pool_id, facts=facts, now=now)


async def add_members(db: Db, *, pool_id: UUID, facts: Sequence[LoanFacts], now: datetime) -> int:
    """Insert (or refresh) the loans' facts as members; returns how many the pool holds of
    them. A loan another pool holds is not touched, and not counted."""
    if not facts:
        return 0
    added: int = await db.fetchval(
        f"""WITH upserted AS (
               INSERT INTO pool_loans (pool_id, loan_id, enterprise_id, industry, district_code,
                   cut_off_balance, rate_bp, remaining_months, days_past_due, pledged_value,
                   added_at)
               SELECT $1, f.loan_id, f.enterprise_id, f.industry, f.district_code,
                      f.cut_off_balance, f.rate_bp, f.remaining_months, f.days_past_due,
                      f.pledged_value, $11
               FROM {_SNAPSHOT_ARRAYS}
               ON CONFLICT (loan_id) DO UPDATE SET
                   cut_off_balance = EXCLUDED.cut_off_balance, rate_bp = EXCLUDED.rate_bp,
                   remaining_months = EXCLUDED.remaining_months,
                   days_past_due = EXCLUDED.days_past_due,
                   pledged_value = EXCLUDED.pledged_value
               WHERE pool_loans.pool_id = EXCLUDED.pool_id
               RETURNING 1
           )
           SELECT count(*) FROM upserted""",
        pool_id,
        *_snapshot_args(facts),
        now,
    )
    return added


async def holdings(
    db: Db, *, pool_id: UUID, enterprise_id: UUID, industry: str, district_code: str
) -> asyncpg.Record:
    row = await db.fetchrow(
        """SELECT coalesce(sum(cut_off_balance), 0) AS total,
                  coalesce(sum(cut_off_balance) FILTER (WHERE enterprise_id = $2), 0) AS obligor,
                  coalesce(sum(cut_off_balance) FILTER (WHERE industry = $3), 0) AS industry,
                  coalesce(sum(cut_off_balance) FILTER (WHERE district_code = $4), 0)
                      AS district
           FROM pool_loans WHERE pool_id = $1""",
        pool_id,
        enterprise_id,
        industry,
        district_code,
    )
    assert row is not None
    return row


async def remove_member(db: Db, *, pool_id: UUID, loan_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "DELETE FROM pool_loans WHERE pool_id = $1 AND loan_id = $2 "
        "RETURNING loan_id, cut_off_balance",
        pool_id,
        loan_id,
    )


async def touch(
    db: Db, *, pool_id: UUID, now: datetime, changes: dict[str, Any] | None = None
) -> None:
    """A new version of the pool, with ``changes`` (column → value) applied."""
    changes = changes or {}
    sets = ["version = version + 1", "updated_at = $2"]
    args: list[Any] = [pool_id, now]
    for column, value in changes.items():
        if column == "last_selection":
            args.append(dumps_str(value))
            sets.append(f"{column} = ${len(args)}::jsonb")
        else:
            args.append(value)
            sets.append(f"{column} = ${len(args)}")
    await db.execute(f"UPDATE pools SET {', '.join(sets)} WHERE id = $1", *args)
