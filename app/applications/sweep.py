"""The SLA sweep and deadline recomputation.

The sweep emits ``application.sla_at_risk`` and ``application.sla_breached`` exactly once per
clock: one UPDATE marks the clocks it reports, and its WHERE clause is re-checked by PostgreSQL
against any concurrent sweep's committed mark, so however many workers sweep at once, each
clock is reported by exactly one of them. The events and their audit entries are written by the
same statement.

Deadlines that fell in an unpublished year are computed as soon as the year is published (the
calendar calls ``recompute_deadlines`` in the publishing transaction), and the sweep re-checks
them too, for a process whose calendar was stale.

A calendar change recomputes the open clocks it can see, but a submission committing just
after it may have computed its deadline on the calendar as it was a moment before (each process
re-reads the calendar's revision at most once a second, and the change cannot see a clock that
is not committed yet). So every sweep also re-checks the open clocks started since shortly
before its previous pass: clock ids are UUIDv7, so "started since" is a range of the primary
key, and the work is only what intake brought in meanwhile.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import structlog

from app.applications import repository, sla
from app.calendar import service as calendar_service
from app.calendar.errors import CalendarYearUnpublished
from app.calendar.index import CalendarIndex
from app.core import audit
from app.core.clock import business_date
from app.core.context import SYSTEM, Ctx
from app.core.db import Db
from app.core.runtime import Runtime
from app.core.types import SHANGHAI

log = structlog.get_logger("ipledge.sla")


@dataclass(frozen=True)
class SweepResult:
    at_risk: int
    breached: int
    deadlines_computed: int


async def emit_due_events(
    db: Db, *, now: datetime, request_id: str, batch: int = repository.SWEEP_BATCH
) -> tuple[int, int]:
    """Report every clock due at ``now``, ``batch`` clocks a statement: (at risk, breached).

    The statement runs on its generic plan, made once without the values: walk the partial
    index in deadline order until ``batch`` clocks, and join each by primary key. Left to
    choose, PostgreSQL plans it afresh on every pass once the table is large (a million clocks
    here), because its estimate for the values at hand (next to nothing due) always looks
    cheaper than the generic plan's: 0.35 ms of planning a pass, against 0.1 ms of work."""
    sql = repository.sweep_sql(batch)
    at_risk = breached = 0
    async with nullcontext() if db.in_transaction() else db.transaction():
        # For this pass only: the caller's own setting comes back after it.
        previous = await db.fetchval(
            """WITH p AS MATERIALIZED (SELECT current_setting('plan_cache_mode') AS v)
               SELECT v FROM p, set_config('plan_cache_mode', 'force_generic_plan', true)"""
        )
        while True:
            row = await repository.report_due(db, sql, now=now, request_id=request_id)
            assert row is not None
            at_risk += row["at_risk"]
            breached += row["breached"]
            if row["marked"] < batch:
                break
        await db.execute("SELECT set_config('plan_cache_mode', $1, true)", previous)
    return at_risk, breached


def _first_id_since(moment: datetime) -> UUID:
    """The smallest UUIDv7 of ``moment``'s millisecond: every id made since sorts after it."""
    return UUID(int=(int(moment.timestamp() * 1000) & 0xFFFF_FFFF_FFFF) << 80)


async def recompute_deadlines(
    ctx: Ctx,
    index: CalendarIndex,
    changed_years: set[int] | None = None,
    *,
    started_since: datetime | None = None,
) -> int:
    """Compute deadlines the calendar could not give before (and, after a calendar change,
    re-check the open clocks whose working-day window touches the changed years; with
    ``started_since``, the open clocks started since then). Returns how many clocks got a new
    deadline, or lost theirs to a year not published. Decided clocks keep theirs unless they
    had none."""
    args: list[object] = []
    where = "c.deadline_date IS NULL"
    if changed_years:
        first, last = min(changed_years), max(changed_years)
        args += [date(first, 1, 1), datetime(last + 1, 1, 1, tzinfo=SHANGHAI)]
        where += " OR (c.stopped_at IS NULL AND c.received_at < $2 AND c.deadline_date >= $1)"
    if started_since is not None:
        args.append(_first_id_since(started_since))
        where += f" OR (c.stopped_at IS NULL AND c.id >= ${len(args)})"
    rows = await repository.clocks_where(ctx.db, where, args)
    ids: list[UUID] = []
    dates: list[date | None] = []
    instants: list[datetime | None] = []
    for row in rows:
        try:
            new_date: date | None = index.add_working_days(
                business_date(row["received_at"]), row["tier_working_days"]
            )
        except CalendarYearUnpublished:
            # A change that pushes an open clock's deadline into an unpublished year leaves
            # it pending (SPEC 3.2: never guess), not at the date it had before.
            new_date = None
        if new_date == row["deadline_date"]:
            continue
        ids.append(row["id"])
        dates.append(new_date)
        instants.append(
            None if new_date is None else sla.deadline_instant(new_date).astimezone(UTC)
        )
        audit.record(
            ctx,
            action="approval_clock.deadline_computed",
            entity_type="application",
            entity_id=row["application_id"],
            before={"clock_seq": row["seq"], "deadline_date": row["deadline_date"]},
            after={
                "clock_seq": row["seq"],
                "deadline_date": new_date,
                "calendar_revision": index.revision,
            },
        )
    if ids:
        await repository.store_deadlines(ctx.db, ids, dates, instants)
    return len(ids)


async def calendar_changed(ctx: Ctx, index: CalendarIndex, changed_years: set[int]) -> None:
    """Recompute the deadlines of the clocks a calendar change moves (registered with
    ``app.calendar.service.on_change`` by ``app.main.connect_domains``)."""
    computed = await recompute_deadlines(ctx, index, changed_years)
    if computed:
        log.info(
            "deadlines recomputed after a calendar change",
            clocks=computed,
            years=sorted(changed_years),
        )


async def sweep(runtime: Runtime) -> SweepResult:
    """One sweep: pending deadlines first (so a newly published year's clocks are reported in
    the same pass), then the at-risk and breached events."""
    async with runtime.unit_of_work(SYSTEM, label="sla-sweep") as ctx:
        index = await calendar_service.get_index(ctx.db)
        # Since shortly before the previous pass: a pass late by up to a minute misses none.
        lookback = timedelta(seconds=2 * runtime.settings.sla_sweep_interval_s + 60)
        computed = await recompute_deadlines(ctx, index, started_since=ctx.now - lookback)
        at_risk, breached = await emit_due_events(ctx.db, now=ctx.now, request_id=ctx.request_id)
    return SweepResult(at_risk=at_risk, breached=breached, deadlines_computed=computed)


async def sweep_job(runtime: Runtime) -> dict[str, int] | None:
    result = await sweep(runtime)
    if result.at_risk or result.breached or result.deadlines_computed:
        return {
            "at_risk": result.at_risk,
            "breached": result.breached,
            "deadlines_computed": result.deadlines_computed,
        }
    return None
