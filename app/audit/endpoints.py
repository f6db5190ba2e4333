"""Reading the audit trail (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from app.audit import service
from app.audit.schemas import AuditEventOut
from app.core.errors import problems
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text

router = ApiRouter(prefix="/v1/audit-events", tags=["audit"])


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
    return await service.list_events(
        ctx, entity_type=entity_type, entity_id=entity_id, cursor=cursor, limit=limit
    )
