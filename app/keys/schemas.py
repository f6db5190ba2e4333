from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from app.core.roles import Role
from app.core.schemas import Strict, Timestamp
from app.core.types import Text


class ApiKeyCreate(Strict):
    role: Role
    subject: Text | None = Field(
        default=None,
        max_length=64,
        description="The relationship manager's id, or the bureau's district code.",
    )
    name: Text | None = Field(default=None, max_length=200, description="What the key is for.")


class ApiKeyOut(BaseModel):
    id: UUID
    role: Role
    subject: str | None
    name: str | None
    created_at: Timestamp
    revoked_at: Timestamp | None


class ApiKeyCreated(ApiKeyOut):
    key: str | None = Field(
        description="The key itself. Shown only in this response; keep it safe. Null when the "
        "response is replayed for its Idempotency-Key: only the key's hash is kept."
    )
