from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from app.core.db import Db

_COLUMNS = "id, role, subject, name, created_at, revoked_at"


async def insert(
    db: Db,
    *,
    key_id: UUID,
    role: str,
    subject: str | None,
    name: str | None,
    secret_hash: bytes,
    created_at: datetime,
    created_by: UUID | None,
) -> asyncpg.Record:
    return await db.fetchrow(
        f"""INSERT INTO api_keys (id, role, subject, name, secret_hash, created_at, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
        key_id,
        role,
        subject,
        name,
        secret_hash,
        created_at,
        created_by,
    )


async def revoke(db: Db, *, key_id: UUID, at: datetime) -> tuple[asyncpg.Record | None, bool]:
    """Returns the key and whether this call revoked it."""
    row = await db.fetchrow(
        f"""UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL
            RETURNING {_COLUMNS}""",
        key_id,
        at,
    )
    if row is not None:
        await db.execute("SELECT pg_notify('ipledge_api_keys', $1)", str(key_id))
        return row, True
    return await db.fetchrow(f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1", key_id), False


async def page(db: Db, *, before: UUID | None, limit: int) -> list[asyncpg.Record]:
    return await db.fetch(
        f"""SELECT {_COLUMNS} FROM api_keys WHERE ($1::uuid IS NULL OR id < $1)
            ORDER BY id DESC LIMIT $2""",
        before,
        limit,
    )


async def live_key(db: Db, key_id: UUID) -> asyncpg.Record | None:
    """The key's role, subject and secret hash, unless it is revoked (or unknown)."""
    return await db.fetchrow(
        "SELECT role, subject, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
        key_id,
    )


async def district_exists(db: Db, code: str) -> bool:
    """Whether ``code`` is a district (reference data): a bureau key's subject must be one."""
    return bool(await db.fetchval("SELECT 1 FROM districts WHERE code = $1", code))
