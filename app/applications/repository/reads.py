"""Reads of applications: one row with everything a response needs (clocks, pledges and the
locked quote folded in as JSON)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from app.applications.repository.columns import DETAIL_COLUMNS
from app.core.db import Db


async def get(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {DETAIL_COLUMNS} FROM applications a WHERE a.id = $1", application_id
    )


async def page(db: Db, *, where: str, args: list[Any], limit_param: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT {DETAIL_COLUMNS} FROM applications a {where} "
        f"ORDER BY a.id DESC LIMIT {limit_param}",
        *args,
    )


async def intake_diagnosis(
    db: Db, *, enterprise_id: UUID, ip_asset_ids: list[UUID]
) -> asyncpg.Record | None:
    """Why an intake wrote nothing: the enterprise (None when unknown), and which of the named
    assets exist and which it holds. Read only on the failure path."""
    return await db.fetchrow(
        """SELECT ARRAY(SELECT x.id FROM ip_assets x WHERE x.id = ANY($2::uuid[])) AS found,
                  ARRAY(SELECT x.id FROM ip_assets x
                        WHERE x.id = ANY($2::uuid[]) AND x.holder_enterprise_id = e.id) AS held
           FROM enterprises e WHERE e.id = $1""",
        enterprise_id,
        ip_asset_ids,
    )


async def state_of(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT state, version FROM applications WHERE id = $1", application_id
    )
