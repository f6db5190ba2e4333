"""Enterprises: the borrowers, registered once per unified social credit code. Reference data
every bank role may read."""

from __future__ import annotations

from typing import NoReturn
from uuid import UUID

from app.core import audit
from app.core.context import Ctx
from app.core.errors import ConcurrentUpdate, NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.core.schemas import Page, decode_cursor, paged
from app.enterprises import repository
from app.enterprises.errors import DuplicateCreditCode
from app.enterprises.schemas import EnterpriseCreate, EnterpriseOut
from app.identifiers import normalise_credit_code


async def create_enterprise(ctx: Ctx, *, enterprise_in: EnterpriseCreate) -> EnterpriseOut:
    enterprise_id = uuid7()
    row = await repository.insert(
        ctx.db,
        enterprise_id=enterprise_id,
        name=enterprise_in.name,
        credit_code=enterprise_in.credit_code,
        district_code=enterprise_in.district_code,
        industry=enterprise_in.industry,
        high_tech=enterprise_in.high_tech,
        cross_border=enterprise_in.cross_border,
        created_at=ctx.now,
        created_by=ctx.principal.key_id,
    )
    if row is None:
        await _refuse(ctx, enterprise_in)
    enterprise = EnterpriseOut.model_validate(dict(row))
    audit.record(
        ctx,
        action="enterprise.created",
        entity_type="enterprise",
        entity_id=enterprise_id,
        after=enterprise.model_dump(mode="json"),
    )
    return enterprise


async def _refuse(ctx: Ctx, enterprise_in: EnterpriseCreate) -> NoReturn:
    why = await repository.refusal(
        ctx.db, credit_code=enterprise_in.credit_code, district_code=enterprise_in.district_code
    )
    if not why["district_known"]:
        known = ", ".join(why["districts"] or [])
        raise ValidationFailed(
            f"unknown district code {enterprise_in.district_code}",
            errors=[field_error(["body", "district_code"], f"unknown district; one of {known}")],
        )
    if why["existing_id"] is not None:
        raise DuplicateCreditCode(
            f"enterprise {why['existing_id']} already has credit code {enterprise_in.credit_code}",
            existing_enterprise_id=str(why["existing_id"]),
        )
    # Enterprises are never deleted, so a code that blocked the insert is still there.
    raise ConcurrentUpdate("the enterprise could not be registered; retry")


async def get_enterprise(ctx: Ctx, *, enterprise_id: UUID) -> EnterpriseOut:
    row = await repository.get(ctx.db, enterprise_id)
    if row is None:
        raise NotFound("no such enterprise")
    return EnterpriseOut.model_validate(dict(row))


async def list_enterprises(
    ctx: Ctx,
    *,
    district_code: str | None,
    industry: str | None,
    credit_code: str | None,
    cursor: str | None,
    limit: int,
) -> Page[EnterpriseOut]:
    if credit_code is not None:
        try:
            credit_code = normalise_credit_code(credit_code)
        except ValueError as exc:
            raise ValidationFailed(
                str(exc), errors=[field_error(["query", "credit_code"], str(exc))]
            ) from None
    rows = await repository.page(
        ctx.db,
        district_code=district_code,
        industry=industry,
        credit_code=credit_code,
        before=decode_cursor(cursor),
        limit=limit + 1,
    )
    return paged(rows, limit, lambda r: EnterpriseOut.model_validate(dict(r)))
