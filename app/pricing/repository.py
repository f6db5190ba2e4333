"""SQL for LPR fixings and quotes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core import journal
from app.core.db import Db
from app.core.jsonutil import dumps_str
from app.models.pledge import LIVE_PLEDGE_STATES
from app.subsidies import in_force

_LPR_COLUMNS = "fixing_date, one_year_bp, five_year_bp, created_at, updated_at, version"
_QUOTE_COLUMNS = (
    "id, application_id, quote_date, amount, term_months, lpr_bp, lpr_date, spread_bp, "
    "components, discount_uncapped_bp, discount_bp, rate_bp, created_at"
)

# --- LPR fixings ------------------------------------------------------------------------------


async def lpr_in_force(db: Db, on: date) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"""SELECT {_LPR_COLUMNS} FROM lpr_fixings WHERE fixing_date <= $1
            ORDER BY fixing_date DESC LIMIT 1""",
        on,
    )


async def lpr_for_update(db: Db, fixing_date: date) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {_LPR_COLUMNS} FROM lpr_fixings WHERE fixing_date = $1 FOR UPDATE", fixing_date
    )


async def insert_lpr(
    db: Db, *, fixing_date: date, one_year_bp: int, five_year_bp: int, at: datetime
) -> asyncpg.Record | None:
    """The new fixing, or None when a concurrent request created that date first."""
    return await db.fetchrow(
        f"""INSERT INTO lpr_fixings
                (fixing_date, one_year_bp, five_year_bp, created_at, updated_at, version)
            VALUES ($1, $2, $3, $4, $4, 1)
            ON CONFLICT (fixing_date) DO NOTHING
            RETURNING {_LPR_COLUMNS}""",
        fixing_date,
        one_year_bp,
        five_year_bp,
        at,
    )


async def update_lpr(
    db: Db, *, fixing_date: date, one_year_bp: int, five_year_bp: int, at: datetime
) -> asyncpg.Record:
    return await db.fetchrow(
        f"""UPDATE lpr_fixings
            SET one_year_bp = $2, five_year_bp = $3, updated_at = $4, version = version + 1
            WHERE fixing_date = $1
            RETURNING {_LPR_COLUMNS}""",
        fixing_date,
        one_year_bp,
        five_year_bp,
        at,
    )


async def lpr_page(db: Db, *, before: date | None, limit: int) -> list[asyncpg.Record]:
    if before is None:
        return await db.fetch(
            f"SELECT {_LPR_COLUMNS} FROM lpr_fixings ORDER BY fixing_date DESC LIMIT $1", limit
        )
    return await db.fetch(
        f"""SELECT {_LPR_COLUMNS} FROM lpr_fixings WHERE fixing_date < $1
            ORDER BY fixing_date DESC LIMIT $2""",
        before,
        limit,
    )


# --- Quotes -----------------------------------------------------------------------------------

# Everything a quote rests on, in one statement: the application and its enterprise, the LPR
# in force, the district's risk-compensation programme in force on the quote date covering the
# enterprise (the one definition of "in force", ``app.subsidies.in_force``: a default that day
# would claim on it), and the assets of the application's live pledges (``proposed`` or
# ``registered``: a released or cancelled pledge secures nothing) with the valuation current on
# the quote date (newest by valuation date, then id) and their protection expiry. The assets
# come back as parallel arrays ordered by id, so money stays numeric (a json aggregate would
# pass it through a float). No row: no such application.
_QUOTE_FACTS = """
WITH app AS (
    SELECT a.id, a.state, a.amount, a.term_months, e.industry, e.district_code
    FROM applications a JOIN enterprises e ON e.id = a.enterprise_id
    WHERE a.id = $1
)
SELECT app.id, app.state, app.amount, app.term_months, app.industry, app.district_code,
       lpr.fixing_date AS lpr_date, lpr.one_year_bp AS lpr_bp,
       (SELECT p.id FROM subsidy_programs p
        WHERE p.district_code = app.district_code AND p.kind = 'risk_compensation'
          AND {program_in_force}
          AND (p.industries IS NULL OR app.industry = ANY (p.industries))
        ORDER BY p.effective_from DESC, p.id DESC LIMIT 1) AS risk_compensation_program_id,
       assets.ids AS asset_ids, assets.kinds AS asset_kinds, assets.numbers AS asset_numbers,
       assets.expiries AS asset_expiries, assets.valuation_values, assets.valuation_dates
FROM app
LEFT JOIN LATERAL (
    SELECT fixing_date, one_year_bp FROM lpr_fixings WHERE fixing_date <= $2
    ORDER BY fixing_date DESC LIMIT 1
) lpr ON true
CROSS JOIN LATERAL (
    SELECT array_agg(ia.id ORDER BY ia.id) AS ids,
           array_agg(ia.kind ORDER BY ia.id) AS kinds,
           array_agg(ia.number ORDER BY ia.id) AS numbers,
           array_agg(ia.protection_expires_on ORDER BY ia.id) AS expiries,
           array_agg(v.value ORDER BY ia.id) AS valuation_values,
           array_agg(v.valuation_date ORDER BY ia.id) AS valuation_dates
    FROM pledges pg
    JOIN ip_assets ia ON ia.id = pg.ip_asset_id
    LEFT JOIN LATERAL (
        SELECT iv.value, iv.valuation_date FROM ip_asset_valuations iv
        WHERE iv.ip_asset_id = ia.id AND iv.valuation_date <= $2
        ORDER BY iv.valuation_date DESC, iv.id DESC LIMIT 1
    ) v ON true
    WHERE pg.application_id = app.id AND pg.state = ANY ({live_states})
) assets
"""
QUOTE_FACTS_SQL = _QUOTE_FACTS.format(
    program_in_force=in_force.in_force_sql("p", "$2"),
    live_states="ARRAY[" + ", ".join(f"'{s}'" for s in LIVE_PLEDGE_STATES) + "]",
)


async def quote_facts(db: Db, *, application_id: UUID, on: date) -> asyncpg.Record | None:
    return await db.fetchrow_keyed(QUOTE_FACTS_SQL, application_id, on)


async def live_pledged_assets(db: Db, *, application_id: UUID) -> set[UUID]:
    """The assets the application's live pledges (``proposed`` or ``registered``) hold now."""
    rows = await db.fetch(
        "SELECT ip_asset_id FROM pledges WHERE application_id = $1 AND state = ANY ($2::text[])",
        application_id,
        list(LIVE_PLEDGE_STATES),
    )
    return {r["ip_asset_id"] for r in rows}


_QUOTE_FIELDS = (
    "id",
    "application_id",
    "quote_date",
    "amount",
    "term_months",
    "lpr_bp",
    "lpr_date",
    "spread_bp",
    "components",
    "discount_uncapped_bp",
    "discount_bp",
    "rate_bp",
)


async def insert_quote(
    db: Db,
    *,
    quote: dict[str, Any],
    created_by: journal.Actor,
    audit_after: dict[str, Any],
    only_in_states: Sequence[str] | None,
) -> bool:
    """Keep ``quote`` (its columns) and its audit entry in one statement, so that quoting
    needs no transaction block (two round trips fewer on the hot path); the entry is rendered
    by the journal and written only if the quote was. With ``only_in_states`` the
    application's state is checked by the same statement: a quote is never kept for an
    application that has moved on. False when it was not kept. The statement may share a
    round trip with other requests' (``Db.fetchrow_keyed``): its first parameter is the id."""
    params = journal.Params()
    values = [
        params.add(dumps_str(quote[name]) if name == "components" else quote[name])
        for name in _QUOTE_FIELDS
    ]
    values[_QUOTE_FIELDS.index("components")] += "::jsonb"
    at, key_id = params.add(created_by.at), params.add(created_by.key_id)
    guard = ""
    if only_in_states is not None:
        states = params.add(list(only_in_states))
        guard = f"""WHERE EXISTS (SELECT 1 FROM applications
                   WHERE id = {values[1]} AND state = ANY ({states}::text[]))"""
    created = journal.AuditEntry(
        action="quote.created",
        entity_type="application_quote",
        entity_id=str(quote["id"]),
        after=audit_after,
    )
    trail = journal.render(params, created_by, [created], [], source="quote", name="created")
    sql = (
        journal.with_clause(
            [
                f"""quote AS (
    INSERT INTO application_quotes ({", ".join(_QUOTE_FIELDS)}, created_at, created_by)
    SELECT {", ".join(values)}, {at}::timestamptz, {key_id}::uuid
    {guard}
    RETURNING id
)""",
                *trail,
            ]
        )
        + f"SELECT {values[0]}::uuid AS id FROM quote"
    )
    return await db.fetchrow_keyed(sql, *params.values) is not None


async def quote(db: Db, *, application_id: UUID, quote_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {_QUOTE_COLUMNS} FROM application_quotes WHERE id = $1 AND application_id = $2",
        quote_id,
        application_id,
    )


async def quotes_page(
    db: Db, *, application_id: UUID, before: UUID | None, limit: int
) -> list[asyncpg.Record] | None:
    """A page of the application's quotes, newest first; None when there is no such
    application (one statement: an empty page and an unknown application differ)."""
    keyset = "" if before is None else "AND q.id < $3"
    args: list[Any] = [application_id, limit] if before is None else [application_id, limit, before]
    rows = await db.fetch(
        f"""SELECT q.* FROM applications a
            LEFT JOIN LATERAL (
                SELECT {_QUOTE_COLUMNS} FROM application_quotes q
                WHERE q.application_id = a.id {keyset}
                ORDER BY q.id DESC LIMIT $2
            ) q ON true
            WHERE a.id = $1""",
        *args,
    )
    if not rows:
        return None
    return [r for r in rows if r["id"] is not None]
