from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import Filters

COLUMNS = "id, name, credit_code, district_code, industry, high_tech, cross_border, created_at"


async def insert(
    db: Db,
    *,
    enterprise_id: UUID,
    name: str,
    credit_code: str,
    district_code: str,
    industry: str,
    high_tech: bool,
    cross_border: bool,
    created_at: datetime,
    created_by: UUID | None,
) -> asyncpg.Record | None:
    """The new enterprise, or None when its district is unknown or its credit code is taken.

    The unique constraint decides a race between two requests for one code: the later insert
    waits for the earlier transaction and, once it commits, inserts nothing.
    """
    return await db.fetchrow(
        f"""INSERT INTO enterprises
                (id, name, credit_code, district_code, industry, high_tech, cross_border,
                 created_at, created_by)
            SELECT $1::uuid, $2::text, $3::text, d.code, $5::text, $6::boolean, $7::boolean,
                   $8::timestamptz, $9::uuid
            FROM districts d WHERE d.code = $4::text
            ON CONFLICT ON CONSTRAINT uq_enterprises_credit_code DO NOTHING
            RETURNING {COLUMNS}""",
        enterprise_id,
        name,
        credit_code,
        district_code,
        industry,
        high_tech,
        cross_border,
        created_at,
        created_by,
    )


async def refusal(db: Db, *, credit_code: str, district_code: str) -> asyncpg.Record:
    """Why an insert did nothing: the known districts, and the enterprise holding the code."""
    return await db.fetchrow(
        """SELECT (SELECT array_agg(code ORDER BY code) FROM districts) AS districts,
                  EXISTS (SELECT 1 FROM districts WHERE code = $2) AS district_known,
                  (SELECT id FROM enterprises WHERE credit_code = $1) AS existing_id""",
        credit_code,
        district_code,
    )


async def get(db: Db, enterprise_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(f"SELECT {COLUMNS} FROM enterprises WHERE id = $1", enterprise_id)


async def page(
    db: Db,
    *,
    district_code: str | None,
    industry: str | None,
    credit_code: str | None,
    before: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    filters = (
        Filters()
        .when(district_code, "district_code = {}")
        .when(industry, "industry = {}")
        .when(credit_code, "credit_code = {}")
        .when(before, "id < {}")
    )
    limit_param = filters.param(limit)
    return await db.fetch(
        f"""SELECT {COLUMNS} FROM enterprises {filters.where()}
            ORDER BY id DESC LIMIT {limit_param}""",
        *filters.args,
    )
