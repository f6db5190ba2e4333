from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.core.schemas import Timestamp


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
