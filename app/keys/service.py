"""API keys: issued by admins (or the operator at the command line), shown once, revocable."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from app.core import audit, auth
from app.core.context import Ctx
from app.core.db import Db
from app.core.errors import NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.core.roles import RM_ID, SUBJECT_ROLES, Role
from app.core.schemas import Page, decode_cursor, paged
from app.keys import repository
from app.keys.domain import LiveKey
from app.keys.schemas import ApiKeyCreated, ApiKeyOut


async def _check_subject(ctx: Ctx, role: Role, subject: str | None) -> str | None:
    if role not in SUBJECT_ROLES:
        if subject is not None:
            raise ValidationFailed(
                f"the {role.value} role takes no subject",
                errors=[field_error(["body", "subject"], "must be null for this role")],
            )
        return None
    if not subject:
        raise ValidationFailed(
            f"the {role.value} role needs a subject",
            errors=[field_error(["body", "subject"], "required for this role")],
        )
    if role is Role.RELATIONSHIP_MANAGER and not RM_ID.fullmatch(subject):
        raise ValidationFailed(
            "a relationship manager id is 1 to 64 letters, digits, dots, dashes or underscores",
            errors=[field_error(["body", "subject"], "malformed relationship manager id")],
        )
    if role is Role.DISTRICT_BUREAU and not await repository.district_exists(ctx.db, subject):
        raise ValidationFailed(
            f"unknown district code {subject}",
            errors=[field_error(["body", "subject"], "unknown district code")],
        )
    return subject


async def create_key(
    ctx: Ctx, *, role: Role, subject: str | None, name: str | None
) -> ApiKeyCreated:
    subject = await _check_subject(ctx, role, subject)
    secret, secret_hash = auth.new_secret()
    key_id = uuid7()
    row = await repository.insert(
        ctx.db,
        key_id=key_id,
        role=role.value,
        subject=subject,
        name=name,
        secret_hash=secret_hash,
        created_at=ctx.now,
        created_by=ctx.principal.key_id,
    )
    out = ApiKeyOut.model_validate(dict(row))
    audit.record(
        ctx,
        action="api_key.created",
        entity_type="api_key",
        entity_id=key_id,
        after=out.model_dump(mode="json"),
    )
    return ApiKeyCreated(**out.model_dump(), key=auth.format_key(key_id, secret))


async def revoke_key(ctx: Ctx, *, key_id: UUID) -> ApiKeyOut:
    row, revoked = await repository.revoke(ctx.db, key_id=key_id, at=ctx.now)
    if row is None:
        raise NotFound("no such API key")
    out = ApiKeyOut.model_validate(dict(row))
    if revoked:
        audit.record(
            ctx,
            action="api_key.revoked",
            entity_type="api_key",
            entity_id=key_id,
            before={"revoked_at": None},
            after={"revoked_at": out.revoked_at},
        )
    return out


async def list_keys(ctx: Ctx, *, cursor: str | None, limit: int) -> Page[ApiKeyOut]:
    rows = await repository.page(ctx.db, before=decode_cursor(cursor), limit=limit + 1)
    return paged(rows, limit, lambda r: ApiKeyOut.model_validate(dict(r)))


async def load_live_key(db: Db, key_id: UUID) -> LiveKey | None:
    """The key, for the key cache (``app.main.attach``); None when unknown or revoked."""
    try:
        row = await repository.live_key(db, key_id)
    except asyncpg.DataError:
        return None
    if row is None:
        return None
    return LiveKey(role=row["role"], subject=row["subject"], secret_hash=bytes(row["secret_hash"]))
