"""Reading the audit trail; its rows are written by ``app.core.journal`` only."""

from __future__ import annotations

from typing import Any

import asyncpg

from app.core.db import Db


async def page(db: Db, *, where: str, args: list[Any], limit_param: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"""SELECT id, occurred_at, actor_key_id, actor_role, actor_subject, actor_signed_in_as,
                   action, entity_type, entity_id, before, after, request_id
            FROM audit_events {where}
            ORDER BY id DESC LIMIT {limit_param}""",
        *args,
    )
