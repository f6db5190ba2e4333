"""Projecting a pool (SPEC 3.9a): its frozen facts (a locked or transferred pool's cut-off
balances and its loans' schedules after the cut-off; an open pool's current members) run
through the engine under the caller's scenario and structure, stored as answered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast
from uuid import UUID

import asyncpg
import numpy as np

from app.core import audit
from app.core.context import Ctx
from app.core.errors import NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.loans import service as loans_service
from app.models.pool import PoolState, PoolStateLiteral
from app.pools import repository as pools_repository
from app.pools.projection import engine, present, repository
from app.pools.projection.model import PoolSchedule, Projection
from app.pools.projection.model import Scenario as EngineScenario
from app.pools.projection.model import Structure as EngineStructure
from app.pools.projection.model import Tranche as EngineTranche
from app.pools.schemas import (
    GridOut,
    GridPoint,
    GridTranche,
    ProjectionCreate,
    ProjectionGrid,
    ProjectionOut,
    Scenario,
    Structure,
)


@dataclass(frozen=True, slots=True)
class PoolFacts:
    state: str
    cut_off_date: date
    loan_count: int
    cut_off_balance: Decimal
    schedule: PoolSchedule


def engine_scenario(s: Scenario) -> EngineScenario:
    return EngineScenario(
        cpr=s.cpr,
        cdr=s.cdr,
        recovery_rate=s.recovery_rate,
        recovery_lag_months=s.recovery_lag_months,
    )


def engine_structure(s: Structure) -> EngineStructure:
    return EngineStructure(
        tranches=tuple(EngineTranche(t.name, t.share, t.coupon_bp) for t in s.tranches),
        fees_bp=s.fees_bp,
    )


def _fen(amount: Decimal) -> int:
    return int(amount.scaleb(2))


async def replayed_at_cut_off(ctx: Ctx, *, pool_id: UUID, cut_off: date) -> repository.Replayed:
    """The instalments due from the cut-off on, as they stood at it, of the members a prepayment
    dated after it re-amortised: their stored schedule no longer says what was due then, so
    each is read as of the cut-off (its repayments up to then replayed)."""
    replayed = repository.Replayed()
    members = await repository.reamortised_members(ctx.db, pool_id=pool_id, cut_off=cut_off)
    if not members:
        return replayed
    schedules = await loans_service.read_schedules_as_of(ctx, members, cut_off)
    for loan_id in members:
        replayed.loan_ids.append(loan_id)
        for i in schedules[loan_id]:
            if i.due_date >= cut_off:
                replayed.due_dates.append(i.due_date)
                replayed.principal.append(present.money(i.principal - i.paid_principal))
                replayed.interest.append(present.money(i.interest - i.paid_interest))
    return replayed


async def pool_facts(ctx: Ctx, *, pool_id: UUID) -> PoolFacts:
    pool = await pools_repository.get_for_tape(ctx.db, pool_id)
    if pool is None:
        raise NotFound("no such pool")
    if not pool["loan_count"]:
        raise ValidationFailed(
            "the pool holds no loans: there is nothing to project",
            errors=[field_error(["path", "pool_id"], "the pool holds no loans")],
        )
    frozen = pool["state"] != PoolState.OPEN
    months = await repository.schedule(
        ctx.db,
        pool_id=pool_id,
        cut_off=pool["cut_off_date"],
        frozen=frozen,
        replayed=repository.Replayed()
        if frozen
        else await replayed_at_cut_off(ctx, pool_id=pool_id, cut_off=pool["cut_off_date"]),
    )
    horizon = months[-1]["period"] if months else 0
    principal = np.zeros(horizon, dtype=np.int64)
    interest = np.zeros(horizon, dtype=np.int64)
    for m in months:
        principal[m["period"] - 1] = _fen(m["principal"])
        interest[m["period"] - 1] = _fen(m["interest"])
    balance = int(principal.sum())
    if balance <= 0:
        raise ValidationFailed(
            "the pool's loans have nothing left to pay after its cut-off",
            errors=[field_error(["path", "pool_id"], "no scheduled principal after the cut-off")],
        )
    return PoolFacts(
        state=pool["state"],
        cut_off_date=pool["cut_off_date"],
        loan_count=pool["loan_count"],
        cut_off_balance=present.money(balance),
        schedule=PoolSchedule(balance=balance, principal=principal, interest=interest),
    )


def _compute(schedule: PoolSchedule, body: ProjectionCreate) -> tuple[Projection, Decimal | None]:
    scenario = engine_scenario(body.scenario)
    structure = engine_structure(body.structure)
    projection = engine.project(schedule, scenario, structure)
    breakeven = engine.breakeven_cdr(schedule, scenario, structure) if body.breakeven else None
    return projection, breakeven


async def create_projection(ctx: Ctx, *, pool_id: UUID, body: ProjectionCreate) -> ProjectionOut:
    facts = await pool_facts(ctx, pool_id=pool_id)
    # A large pool's break-even search holds the CPU for a while: off the event loop.
    projection, breakeven = await asyncio.to_thread(_compute, facts.schedule, body)
    out = ProjectionOut(
        id=uuid7(),
        pool_id=pool_id,
        pool_state=cast(PoolStateLiteral, facts.state),  # a column the database checks
        cut_off_date=facts.cut_off_date,
        loan_count=facts.loan_count,
        cut_off_balance=facts.cut_off_balance,
        scenario=body.scenario,
        structure=body.structure,
        breakeven=body.breakeven,
        breakeven_cdr=breakeven,
        rows=present.rows(projection, facts.cut_off_date),
        tranches=present.tranche_totals(projection, facts.cut_off_date),
        created_at=ctx.now,
        version=1,
    )
    await repository.insert(
        ctx.db,
        values={
            "id": out.id,
            "pool_id": pool_id,
            "pool_state": out.pool_state,
            "cut_off_date": out.cut_off_date,
            "loan_count": out.loan_count,
            "cut_off_balance": out.cut_off_balance,
            "scenario": out.scenario.model_dump(mode="json"),
            "structure": out.structure.model_dump(mode="json"),
            "breakeven": out.breakeven,
            "breakeven_cdr": breakeven,
            "result": out.model_dump(mode="json", include={"rows", "tranches"}),
            "created_at": ctx.now,
            "created_by": ctx.principal.key_id,
        },
    )
    audit.record(
        ctx,
        action="pool.projected",
        entity_type="pool_projection",
        entity_id=out.id,
        after={
            "pool_id": pool_id,
            "scenario": out.scenario.model_dump(mode="json"),
            "structure": out.structure.model_dump(mode="json"),
            "breakeven_cdr": breakeven,
            "tranches": [t.model_dump(mode="json") for t in out.tranches],
        },
    )
    return out


def _stored(row: asyncpg.Record) -> ProjectionOut:
    return ProjectionOut.model_validate(
        {
            "id": row["id"],
            "pool_id": row["pool_id"],
            "pool_state": row["pool_state"],
            "cut_off_date": row["cut_off_date"].isoformat(),
            "loan_count": row["loan_count"],
            "cut_off_balance": row["cut_off_balance"],
            "scenario": row["scenario"],
            "structure": row["structure"],
            "breakeven": row["breakeven"],
            "breakeven_cdr": row["breakeven_cdr"],
            "rows": row["result"]["rows"],
            "tranches": row["result"]["tranches"],
            "created_at": row["created_at"],
            "version": row["version"],
        }
    )


async def get_projection(ctx: Ctx, *, pool_id: UUID, projection_id: UUID) -> ProjectionOut:
    row = await repository.get(ctx.db, pool_id=pool_id, projection_id=projection_id)
    if row is None:
        raise NotFound("no such projection of this pool")
    return _stored(row)


def _grid(schedule: PoolSchedule, body: ProjectionGrid) -> list[GridPoint]:
    structure = engine_structure(body.structure)
    points = []
    for cpr in body.cpr:
        for cdr in body.cdr:
            scenario = EngineScenario(cpr, cdr, body.recovery_rate, body.recovery_lag_months)
            out = engine.project(schedule, scenario, structure)
            points.append(
                GridPoint(
                    cpr=cpr,
                    cdr=cdr,
                    tranches=[
                        GridTranche(
                            name=t.name,
                            loss=present.money(t.loss),
                            wal_years=t.wal_years,
                            interest_shortfall=present.money(t.interest_shortfall),
                        )
                        for t in out.totals
                    ],
                )
            )
    return points


async def projection_grid(ctx: Ctx, *, pool_id: UUID, body: ProjectionGrid) -> GridOut:
    facts = await pool_facts(ctx, pool_id=pool_id)
    points = await asyncio.to_thread(_grid, facts.schedule, body)
    return GridOut(
        pool_id=pool_id,
        cut_off_date=facts.cut_off_date,
        cut_off_balance=facts.cut_off_balance,
        points=points,
    )
