from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import Filters
from app.models.pledge import LIVE_PLEDGE_STATES

_ASSET = (
    "a.id, a.kind, a.number, a.title, a.holder_enterprise_id, a.licensor_name, a.nice_class, "
    "a.protection_expires_on, a.created_at"
)
_VALUATION = "id, ip_asset_id, value, appraiser, method, valuation_date, created_at"

# The asset with its current valuation and live pledge: one statement, whatever the page size.
# The live pledge is unique per asset (uq_pledges_live_asset), so the subquery has one row at
# most, found on that index.
_LIVE = ", ".join(f"'{state}'" for state in LIVE_PLEDGE_STATES)
_ASSET_VIEW = f"""
SELECT {_ASSET},
       v.id AS valuation_id, v.value AS valuation_value, v.appraiser AS valuation_appraiser,
       v.method AS valuation_method, v.valuation_date AS valuation_date,
       v.created_at AS valuation_created_at,
       (SELECT p.id FROM pledges p
        WHERE p.ip_asset_id = a.id AND p.state IN ({_LIVE})) AS live_pledge_id
FROM ip_assets a
LEFT JOIN LATERAL (
    SELECT id, value, appraiser, method, valuation_date, created_at
    FROM ip_asset_valuations
    WHERE ip_asset_id = a.id
    ORDER BY valuation_date DESC, id DESC
    LIMIT 1
) v ON true"""


async def insert(
    db: Db,
    *,
    asset_id: UUID,
    kind: str,
    number: str,
    title: str,
    holder_enterprise_id: UUID,
    licensor_name: str | None,
    nice_class: int | None,
    protection_expires_on: date | None,
    created_at: datetime,
    created_by: UUID | None,
) -> asyncpg.Record | None:
    """The new asset, or None when the holder is unknown, a licensor is named for a holder
    that is not cross-border, or the (kind, number) is taken; ``refusal`` says which. The
    unique constraint decides a race between two registrations of one number."""
    return await db.fetchrow(
        """INSERT INTO ip_assets
               (id, kind, number, title, holder_enterprise_id, licensor_name, nice_class,
                protection_expires_on, created_at, created_by)
           SELECT $1::uuid, $2::text, $3::text, $4::text, e.id, $6::text, $7::smallint,
                  $8::date, $9::timestamptz, $10::uuid
           FROM enterprises e
           WHERE e.id = $5::uuid AND ($6::text IS NULL OR e.cross_border)
           ON CONFLICT ON CONSTRAINT uq_ip_assets_kind_number DO NOTHING
           RETURNING id, kind, number, title, holder_enterprise_id, licensor_name, nice_class,
                     protection_expires_on, created_at""",
        asset_id,
        kind,
        number,
        title,
        holder_enterprise_id,
        licensor_name,
        nice_class,
        protection_expires_on,
        created_at,
        created_by,
    )


async def refusal(db: Db, *, holder_enterprise_id: UUID, kind: str, number: str) -> asyncpg.Record:
    """Why an insert did nothing: whether the holder exists (null) and is cross-border, and
    the asset already registered under the number."""
    return await db.fetchrow(
        """SELECT (SELECT cross_border FROM enterprises WHERE id = $1) AS holder_cross_border,
                  (SELECT id FROM ip_assets WHERE kind = $2 AND number = $3) AS existing_id""",
        holder_enterprise_id,
        kind,
        number,
    )


async def get(db: Db, asset_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(f"{_ASSET_VIEW}\nWHERE a.id = $1", asset_id)


async def page(
    db: Db,
    *,
    holder_enterprise_id: UUID | None,
    kind: str | None,
    numbers: list[tuple[str, str]] | None,
    before: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    filters = (
        Filters()
        .when(holder_enterprise_id, "a.holder_enterprise_id = {}")
        .when(kind, "a.kind = {}")
        .when(before, "a.id < {}")
    )
    if numbers is not None:
        # A number the caller sent may be valid for several kinds, in a different canonical
        # form for each: match any of those (kind, number) pairs.
        filters.add(
            "(a.kind, a.number) IN (SELECT * FROM unnest({}::text[], {}::text[]))",
            [k for k, _ in numbers],
            [n for _, n in numbers],
        )
    limit_param = filters.param(limit)
    return await db.fetch(
        f"{_ASSET_VIEW}\n{filters.where()}\nORDER BY a.id DESC LIMIT {limit_param}",
        *filters.args,
    )


async def insert_valuation(
    db: Db,
    *,
    valuation_id: UUID,
    asset_id: UUID,
    value: Decimal,
    appraiser: str,
    method: str,
    valuation_date: date,
    created_at: datetime,
    created_by: UUID | None,
) -> asyncpg.Record | None:
    """The new valuation, or None when there is no such asset."""
    return await db.fetchrow(
        f"""INSERT INTO ip_asset_valuations
                (id, ip_asset_id, value, appraiser, method, valuation_date, created_at,
                 created_by)
            SELECT $1::uuid, a.id, $3::numeric, $4::text, $5::text, $6::date,
                   $7::timestamptz, $8::uuid
            FROM ip_assets a WHERE a.id = $2::uuid
            RETURNING {_VALUATION}""",
        valuation_id,
        asset_id,
        value,
        appraiser,
        method,
        valuation_date,
        created_at,
        created_by,
    )


# Newest by valuation date, as the current valuation is chosen. The cursor is the last id
# seen; the next page continues after that valuation's place in the order. The asset is
# joined in so that an unknown asset (no row) differs from one with no valuations (one row
# of nulls) without a second round trip.
_VALUATIONS_PAGE = """
WITH asset AS (SELECT id FROM ip_assets WHERE id = $1)
SELECT v.*
FROM asset
LEFT JOIN LATERAL (
    SELECT {columns} FROM ip_asset_valuations v
    WHERE v.ip_asset_id = asset.id {after}
    ORDER BY v.valuation_date DESC, v.id DESC
    LIMIT $2
) v ON true"""
_V_COLUMNS = ", ".join(f"v.{column.strip()}" for column in _VALUATION.split(","))
_FIRST_VALUATIONS = _VALUATIONS_PAGE.format(columns=_V_COLUMNS, after="")
_NEXT_VALUATIONS = _VALUATIONS_PAGE.format(
    columns=_V_COLUMNS,
    after="""AND (v.valuation_date, v.id) < (
        SELECT c.valuation_date, c.id FROM ip_asset_valuations c
        WHERE c.id = $3 AND c.ip_asset_id = $1)""",
)


async def valuations_page(
    db: Db, *, asset_id: UUID, after: UUID | None, limit: int
) -> list[asyncpg.Record] | None:
    """A page of the asset's valuations, newest first; None when there is no such asset."""
    if after is None:
        rows = await db.fetch(_FIRST_VALUATIONS, asset_id, limit)
    else:
        rows = await db.fetch(_NEXT_VALUATIONS, asset_id, limit, after)
    if not rows:
        return None
    return [r for r in rows if r["id"] is not None]
