"""The audit trail, newest first, filtered by entity."""

from __future__ import annotations

from app.audit import repository
from app.audit.schemas import AuditEventOut
from app.core.context import Ctx
from app.core.schemas import Page, decode_int_cursor, encode_cursor
from app.core.sql import Filters


async def list_events(
    ctx: Ctx, *, entity_type: str | None, entity_id: str | None, cursor: str | None, limit: int
) -> Page[AuditEventOut]:
    filters = (
        Filters()
        .when(entity_type, "entity_type = {}")
        .when(entity_id, "entity_id = {}")
        .when(decode_int_cursor(cursor), "id < {}")
    )
    limit_param = filters.param(limit + 1)
    rows = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    items = [
        AuditEventOut(
            **{
                **dict(r),
                "id": str(r["id"]),
                "actor_key_id": str(r["actor_key_id"]) if r["actor_key_id"] else None,
            }
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page[AuditEventOut](items=items, next_cursor=next_cursor)
