from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.schemas import Timestamp


class AuditEventOut(BaseModel):
    id: str
    occurred_at: Timestamp
    actor_key_id: str | None
    actor_role: str
    actor_subject: str | None
    actor_signed_in_as: str | None = Field(
        description="The person the bank's identity provider signed in (the token's `sub`); "
        "null for a change made with an API key."
    )
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    request_id: str | None
