"""District programmes and their claims: admins define programmes; each district's bureau
sees and decides only its own district's programmes and claims."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from app.core import audit, outbox
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import InvalidStateTransition, NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.core.roles import Role
from app.core.schemas import Page, decode_cursor, paged
from app.core.sql import Filters
from app.models.subsidy_claim import ClaimState
from app.subsidies import in_force, repository
from app.subsidies.claims import claim_event
from app.subsidies.schemas import ClaimOut, ProgramCreate, ProgramOut


def _district_filter(ctx: Ctx, filters: Filters, column: str) -> None:
    if ctx.principal.role is Role.DISTRICT_BUREAU:
        filters.add(f"{column} = {{}}", ctx.principal.subject)


def _visible(ctx: Ctx, row: asyncpg.Record | None, what: str) -> asyncpg.Record:
    if row is None or not ctx.principal.owns_district(row["district_code"]):
        raise NotFound(f"no such {what}")
    return row


async def create_program(ctx: Ctx, *, body: ProgramCreate) -> ProgramOut:
    in_force.check_period(
        in_force.Period(
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            budget_year=body.budget_year,
        )
    )
    values = {
        **body.model_dump(),
        "id": uuid7(),
        "created_at": ctx.now,
        "created_by": ctx.principal.key_id,
        "share": body.share,
    }
    row = await repository.insert_program(ctx.db, values=values)
    if row is None:
        raise ValidationFailed(
            f"unknown district code {body.district_code}",
            errors=[field_error(["body", "district_code"], "unknown district")],
        )
    out = ProgramOut.model_validate(dict(row))
    audit.record(
        ctx,
        action="subsidy_program.created",
        entity_type="subsidy_program",
        entity_id=out.id,
        after=out.model_dump(mode="json"),
    )
    return out


async def get_program(ctx: Ctx, *, program_id: UUID) -> ProgramOut:
    row = _visible(ctx, await repository.get_program(ctx.db, program_id), "programme")
    return ProgramOut.model_validate(dict(row))


async def list_programs(
    ctx: Ctx, *, district_code: str | None, kind: str | None, cursor: str | None, limit: int
) -> Page[ProgramOut]:
    filters = Filters()
    _district_filter(ctx, filters, "p.district_code")
    filters.when(district_code, "p.district_code = {}")
    filters.when(kind, "p.kind = {}")
    filters.when(decode_cursor(cursor), "p.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.programs_page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return paged(rows, limit, lambda r: ProgramOut.model_validate(dict(r)))


async def get_claim(ctx: Ctx, *, claim_id: UUID) -> ClaimOut:
    row = _visible(ctx, await repository.get_claim(ctx.db, claim_id), "claim")
    return ClaimOut.model_validate(dict(row))


async def list_claims(
    ctx: Ctx,
    *,
    program_id: UUID | None,
    state: str | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Page[ClaimOut]:
    filters = Filters()
    _district_filter(ctx, filters, "c.district_code")
    filters.when(program_id, "c.program_id = {}")
    filters.when(state, "c.state = {}")
    filters.when(kind, "c.kind = {}")
    filters.when(decode_cursor(cursor), "c.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.claims_page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return paged(rows, limit, lambda r: ClaimOut.model_validate(dict(r)))


def _changed(
    ctx: Ctx, row: asyncpg.Record, updated: asyncpg.Record | None, action: str, event: str
) -> ClaimOut:
    if updated is None:
        raise InvalidStateTransition("the claim changed meanwhile; read it again")
    out = ClaimOut.model_validate(dict(updated))
    data: dict[str, Any] = out.model_dump(mode="json")
    audit.record(
        ctx,
        action=action,
        entity_type="subsidy_claim",
        entity_id=out.id,
        before={"state": row["state"]},
        after=data,
    )
    outbox.emit(
        ctx,
        event,
        {**claim_event(data), "decision_reason": out.decision_reason, "paid_on": out.paid_on},
        district_code=out.district_code,
    )
    return out


async def decide_claim(ctx: Ctx, *, claim_id: UUID, outcome: str, reason: str | None) -> ClaimOut:
    row = _visible(ctx, await repository.get_claim(ctx.db, claim_id), "claim")
    check_if_match(ctx, row["version"])
    if row["state"] != ClaimState.PENDING:
        raise InvalidStateTransition(
            f"cannot decide a claim that is {row['state']}", state=row["state"]
        )
    updated = await repository.decide_claim(
        ctx.db,
        claim_id=claim_id,
        version=row["version"],
        outcome=outcome,
        reason=reason,
        decided_by=ctx.principal.key_id,
        now=ctx.now,
    )
    return _changed(ctx, row, updated, f"subsidy_claim.{outcome}", f"subsidy.claim.{outcome}")


async def pay_claim(ctx: Ctx, *, claim_id: UUID, paid_on: date) -> ClaimOut:
    row = _visible(ctx, await repository.get_claim(ctx.db, claim_id), "claim")
    check_if_match(ctx, row["version"])
    if row["state"] != ClaimState.APPROVED:
        raise InvalidStateTransition(
            f"cannot pay a claim that is {row['state']}", state=row["state"]
        )
    if paid_on > ctx.today:
        raise ValidationFailed(
            "paid_on may not be in the future",
            errors=[field_error(["body", "paid_on"], "in the future")],
        )
    # Nothing is paid for an interest payment or a default before it happened.
    if paid_on < row["basis_date"]:
        raise ValidationFailed(
            f"paid_on may not be before the claim's basis date ({row['basis_date']})",
            errors=[field_error(["body", "paid_on"], "before the claim's basis date")],
        )
    updated = await repository.pay_claim(
        ctx.db, claim_id=claim_id, version=row["version"], paid_on=paid_on, now=ctx.now
    )
    return _changed(ctx, row, updated, "subsidy_claim.paid", "subsidy.claim.paid")
