"""Reading the audit trail (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from app.core.errors import problems
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page, Timestamp, decode_int_cursor, encode_cursor
from app.core.sql import Filters
from app.core.types import Text

router = ApiRouter(prefix="/v1/audit-events", tags=["audit"])


class AuditEventOut(BaseModel):
    id: str
    occurred_at: Timestamp
    actor_key_id: str | None
    actor_role: str
    actor_subject: str | None
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    request_id: str | None


@router.get("", response_model=Page[AuditEventOut], responses=problems())
@access(Role.ADMIN)
async def list_audit_events(
    ctx: CtxDep,
    entity_type: Text | None = None,
    entity_id: Text | None = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[AuditEventOut]:
    """The audit trail, newest first; filter by entity to see one record's whole history."""
    filters = (
        Filters()
        .when(entity_type, "entity_type = {}")
        .when(entity_id, "entity_id = {}")
        .when(decode_int_cursor(cursor), "id < {}")
    )
    limit_param = filters.param(limit + 1)
    rows = await ctx.db.fetch(
        f"""SELECT id, occurred_at, actor_key_id, actor_role, actor_subject, action, entity_type,
                   entity_id, before, after, request_id
            FROM audit_events {filters.where()}
            ORDER BY id DESC LIMIT {limit_param}""",
        *filters.args,
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
