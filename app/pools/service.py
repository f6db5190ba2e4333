"""Securitisation pools (SPEC 3.9): the structured-finance desk opens a pool, fills it by
selection or by hand while it is open, locks it at its cut-off and transfers it to an SPV.

Every change to a pool's membership takes the pool's row lock first, so changes to one pool
happen one at a time; a loan's membership is its primary key in ``pool_loans``, so two pools
can never hold one loan. The facts of each member at the cut-off (balance, rate, instalments
left, days past due, pledged value) are stored when it joins and taken again at lock, after
which they are frozen, with the tape's pledge cells: the statistics and the tape are read from
them, always agree, and never change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from app.core import audit, outbox
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import InvalidStateTransition, NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.core.schemas import Page, decode_cursor, paged
from app.core.sql import Filters
from app.loans import service as loans_service
from app.models.pool import PoolState, PoolStateLiteral
from app.pools import repository, rules, tape_repository, views
from app.pools import selection as optimiser
from app.pools.domain import TapeHeader
from app.pools.errors import LoanAlreadyPooled, LoanNotEligible, PoolLimitViolated
from app.pools.projection import repository as projection_repository
from app.pools.projection import service as projection_service
from app.pools.schemas import PoolCreate, PoolOut, SelectionOut

# How many loans a refusal names; the rest are counted.
_NAMED = 20


def _limits(row: asyncpg.Record) -> optimiser.Limits:
    return optimiser.Limits(
        target=row["target_balance"],
        max_obligor_share=row["max_obligor_share"],
        max_industry_share=row["max_industry_share"],
        max_district_share=row["max_district_share"],
    )


async def _read(ctx: Ctx, pool_id: UUID) -> PoolOut:
    row = await repository.get_with_stats(ctx.db, pool_id)
    assert row is not None
    return views.pool_out(row)


async def _open_for_change(ctx: Ctx, pool_id: UUID, *, doing: str) -> asyncpg.Record:
    """The pool under its row lock, open, at the version the caller expects."""
    row = await repository.get_for_update(ctx.db, pool_id)
    if row is None:
        raise NotFound("no such pool")
    check_if_match(ctx, row["version"])
    if row["state"] != PoolState.OPEN:
        raise InvalidStateTransition(
            f"cannot {doing} a pool that is {row['state']}", state=row["state"]
        )
    return row


def _named(loans: list[str]) -> str:
    more = len(loans) - _NAMED
    return "; ".join(loans[:_NAMED]) + (f"; and {more} more" if more > 0 else "")


# --- reading -------------------------------------------------------------------------------


async def get_pool(ctx: Ctx, *, pool_id: UUID) -> PoolOut:
    row = await repository.get_with_stats(ctx.db, pool_id)
    if row is None:
        raise NotFound("no such pool")
    return views.pool_out(row)


async def list_pools(
    ctx: Ctx, *, state: PoolStateLiteral | None, cursor: str | None, limit: int
) -> Page[PoolOut]:
    filters = Filters()
    filters.when(state, "p.state = {}")
    filters.when(decode_cursor(cursor), "p.id < {}")
    rows = await repository.page(ctx.db, filters=filters, limit_param=filters.param(limit + 1))
    return paged(rows, limit, views.pool_out)


async def check_pool(ctx: Ctx, *, pool_id: UUID) -> TapeHeader:
    """What a caller about to stream the pool's tape needs of it: its cut-off, when it was
    locked and its ``loan_count``."""
    row = await repository.get_for_tape(ctx.db, pool_id)
    if row is None:
        raise NotFound("no such pool")
    return TapeHeader(
        cut_off_date=row["cut_off_date"], locked_at=row["locked_at"], loan_count=row["loan_count"]
    )


# --- changes -------------------------------------------------------------------------------


async def create_pool(ctx: Ctx, *, body: PoolCreate) -> PoolOut:
    if body.cut_off_date > ctx.today:
        raise ValidationFailed(
            "cut_off_date may not be in the future: a tape states facts as of its cut-off",
            errors=[field_error(["body", "cut_off_date"], "in the future")],
        )
    criteria = body.criteria.model_dump(mode="json")
    row = await repository.insert_pool(
        ctx.db,
        values={
            "id": uuid7(),
            "name": body.name,
            "cut_off_date": body.cut_off_date,
            "target_balance": body.target_balance,
            "criteria": criteria,
            "max_obligor_share": body.limits.max_obligor_share,
            "max_industry_share": body.limits.max_industry_share,
            "max_district_share": body.limits.max_district_share,
            "created_at": ctx.now,
            "created_by": ctx.principal.key_id,
        },
    )
    out = views.pool_out(row)
    audit.record(
        ctx,
        action="pool.created",
        entity_type="pool",
        entity_id=out.id,
        after=out.model_dump(mode="json", exclude={"stats"}),
    )
    return out


async def select_loans(ctx: Ctx, *, pool_id: UUID) -> SelectionOut:
    """Replace the open pool's membership with the best selection from every eligible loan
    (its current members included): the largest total not above the target whose every share
    of that total is within its limit, so that the pool can lock as selected."""
    pool = await _open_for_change(ctx, pool_id, doing="select loans for")
    before = await repository.member_totals(ctx.db, pool_id=pool_id)
    facts = await repository.eligible_facts(
        ctx.db,
        pool_id=pool_id,
        cut_off=pool["cut_off_date"],
        as_of=ctx.now,
        criteria=pool["criteria"],
    )
    budget = ctx.settings.selection_time_budget_s
    # The solver holds the CPU for up to its budget: off the event loop, so that this
    # process's other requests are still served meanwhile.
    chosen = await asyncio.to_thread(
        optimiser.select, [f.candidate() for f in facts], _limits(pool), time_budget_s=budget
    )
    wanted = set(chosen.loan_ids)
    members = [f for f in facts if str(f.loan_id) in wanted]
    held = await repository.replace_members(ctx.db, pool_id=pool_id, facts=members, now=ctx.now)
    if held != len(members):
        raise LoanAlreadyPooled(
            f"{len(members) - held} of the selected loans joined another pool meanwhile; "
            "run the selection again"
        )
    summary = {
        "selected_count": len(members),
        "selected_balance": chosen.total,
        "bound_balance": chosen.bound,
        "gap": str(chosen.gap),
        "solver": chosen.solver,
        "optimal": chosen.optimal,
        "fallback": chosen.solver == "greedy",
        "eligible_count": len(facts),
        "solve_ms": chosen.solve_ms,
    }
    await repository.touch(
        ctx.db,
        pool_id=pool_id,
        now=ctx.now,
        changes={"last_selection": summary},
    )
    audit.record(
        ctx,
        action="pool.selected",
        entity_type="pool",
        entity_id=pool_id,
        # The membership itself, not only its totals: a selection replaces it (decision 0014),
        # and the trail must say which loans left and which were chosen.
        before={
            "loan_count": before["loan_count"],
            "balance": before["balance"],
            "loan_ids": list(before["loan_ids"]),
        },
        after={**summary, "members": _members(members)},
    )
    return SelectionOut.model_validate({**summary, "pool": await _read(ctx, pool_id)})


def _members(facts: Sequence[rules.LoanFacts]) -> list[dict[str, Any]]:
    """Members as the audit trail keeps them: each loan and its cut-off balance."""
    return [
        {"loan_id": f.loan_id, "cut_off_balance": f.cut_off_balance}
        for f in sorted(facts, key=lambda f: f.loan_id)
    ]


async def add_loan(ctx: Ctx, *, pool_id: UUID, loan_id: UUID) -> PoolOut:
    pool = await _open_for_change(ctx, pool_id, doing="add loans to")
    facts = await repository.loan_facts(
        ctx.db, cut_off=pool["cut_off_date"], as_of=ctx.now, loan_id=loan_id
    )
    if facts is None:
        raise NotFound("no such loan")
    if facts.in_pool == pool_id:
        raise LoanAlreadyPooled("the loan is in this pool already", pool_id=str(pool_id))
    if facts.in_pool is not None:
        raise LoanAlreadyPooled(f"the loan is in pool {facts.in_pool}")
    reasons = rules.ineligibility(
        facts, pool_id=pool_id, cut_off=pool["cut_off_date"], criteria=pool["criteria"]
    )
    if reasons:
        raise LoanNotEligible("; ".join(reasons), reasons=reasons)
    held = await repository.holdings(
        ctx.db,
        pool_id=pool_id,
        enterprise_id=facts.enterprise_id,
        industry=facts.industry,
        district_code=facts.district_code,
    )
    broken = rules.addition_breaches(facts, rules.Holdings(**dict(held)), _limits(pool))
    if broken:
        raise PoolLimitViolated("; ".join(broken), violations=broken)
    if not await repository.add_members(ctx.db, pool_id=pool_id, facts=[facts], now=ctx.now):
        raise LoanAlreadyPooled("the loan joined another pool meanwhile")
    await repository.touch(ctx.db, pool_id=pool_id, now=ctx.now)
    audit.record(
        ctx,
        action="pool.loan_added",
        entity_type="pool",
        entity_id=pool_id,
        after={"loan_id": loan_id, "cut_off_balance": facts.cut_off_balance},
    )
    return await _read(ctx, pool_id)


async def remove_loan(ctx: Ctx, *, pool_id: UUID, loan_id: UUID) -> PoolOut:
    await _open_for_change(ctx, pool_id, doing="remove loans from")
    removed = await repository.remove_member(ctx.db, pool_id=pool_id, loan_id=loan_id)
    if removed is None:
        raise NotFound("the loan is not in this pool")
    await repository.touch(ctx.db, pool_id=pool_id, now=ctx.now)
    audit.record(
        ctx,
        action="pool.loan_removed",
        entity_type="pool",
        entity_id=pool_id,
        before={"loan_id": loan_id, "cut_off_balance": removed["cut_off_balance"]},
    )
    return await _read(ctx, pool_id)


async def lock_pool(ctx: Ctx, *, pool_id: UUID) -> PoolOut:
    """Freeze membership and cut-off facts, and the tape's pledge cells. Each member is checked
    again (a loan may have defaulted, or a back-dated posting changed its cut-off facts, since
    it joined), then every share is measured against the pool's actual outstanding principal."""
    pool = await _open_for_change(ctx, pool_id, doing="lock")
    cut_off = pool["cut_off_date"]
    # The members held until this commits: a back-dated repayment or a default landing between
    # reading their facts and the commit would leave the frozen facts already stale.
    await repository.lock_members(ctx.db, pool_id=pool_id)
    facts = await repository.member_facts(ctx.db, pool_id=pool_id, cut_off=cut_off, as_of=ctx.now)
    if not facts:
        raise InvalidStateTransition("an empty pool cannot be locked", state=PoolState.OPEN)
    criteria = pool["criteria"]
    unfit = [
        f"{f.loan_id}: {', '.join(reasons)}"
        for f in facts
        if (reasons := rules.ineligibility(f, pool_id=pool_id, cut_off=cut_off, criteria=criteria))
    ]
    if unfit:
        raise LoanNotEligible(
            f"{len(unfit)} members are no longer eligible; remove them first: {_named(unfit)}",
            loans=unfit[:_NAMED],
        )
    broken = optimiser.check([f.candidate() for f in facts], _limits(pool))
    if broken:
        raise PoolLimitViolated("; ".join(broken), violations=broken)
    await repository.add_members(ctx.db, pool_id=pool_id, facts=facts, now=ctx.now)
    await tape_repository.freeze_pledge_cells(
        ctx.db, pool_id=pool_id, cut_off=cut_off, as_of=ctx.now
    )
    await projection_repository.freeze_schedule(
        ctx.db,
        pool_id=pool_id,
        cut_off=cut_off,
        replayed=await projection_service.replayed_at_cut_off(
            ctx, pool_id=pool_id, cut_off=cut_off
        ),
    )
    await repository.touch(
        ctx.db,
        pool_id=pool_id,
        now=ctx.now,
        changes={"state": PoolState.LOCKED, "locked_at": ctx.now},
    )
    out = await _read(ctx, pool_id)
    audit.record(
        ctx,
        action="pool.locked",
        entity_type="pool",
        entity_id=pool_id,
        before={"state": PoolState.OPEN},
        # The loans sold and the cut-off balances frozen for them, as the lock fixed them.
        after={
            "state": PoolState.LOCKED,
            "stats": out.stats.model_dump(mode="json"),
            "members": _members(facts),
        },
    )
    outbox.emit(ctx, "pool.locked", views.event(out))
    return out


async def transfer_pool(ctx: Ctx, *, pool_id: UUID, spv_name: str, transfer_date: date) -> PoolOut:
    row = await repository.get_for_update(ctx.db, pool_id)
    if row is None:
        raise NotFound("no such pool")
    check_if_match(ctx, row["version"])
    if row["state"] != PoolState.LOCKED:
        raise InvalidStateTransition(
            f"only a locked pool can be transferred; this one is {row['state']}",
            state=row["state"],
        )
    loc: list[str | int] = ["body", "transfer_date"]
    if transfer_date > ctx.today:
        raise ValidationFailed(
            "transfer_date may not be in the future", errors=[field_error(loc, "in the future")]
        )
    if transfer_date < row["cut_off_date"]:
        raise ValidationFailed(
            f"transfer_date may not be before the cut-off ({row['cut_off_date']})",
            errors=[field_error(loc, "before the cut-off")],
        )
    await loans_service.mark_securitized(ctx, pool_id=pool_id, on=transfer_date)
    await repository.touch(
        ctx.db,
        pool_id=pool_id,
        now=ctx.now,
        changes={
            "state": PoolState.TRANSFERRED,
            "spv_name": spv_name,
            "transfer_date": transfer_date,
            "transferred_at": ctx.now,
        },
    )
    out = await _read(ctx, pool_id)
    audit.record(
        ctx,
        action="pool.transferred",
        entity_type="pool",
        entity_id=pool_id,
        before={"state": PoolState.LOCKED},
        after={
            "state": PoolState.TRANSFERRED,
            "spv_name": spv_name,
            "transfer_date": transfer_date,
        },
    )
    outbox.emit(ctx, "pool.transferred", {**views.event(out), "spv_name": spv_name})
    return out
