"""The statement every later move of an application is made by, and the guard a pledge's move
takes on its application."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from app.applications.states import ApplicationState
from app.core import journal
from app.core.db import Db
from app.core.ids import uuid7
from app.pledges import repository as pledges_repository


def _stop_clock(*, app_id: str, at: str, reason: str, report: str) -> str:
    """The CTE ``clock``: the application's running clock stops (if ``reason`` is not null);
    ``newly_breached`` when this statement, not the sweep, marks it as reported breached. The
    clock is read FOR UPDATE first, so a sweep that committed meanwhile is seen."""
    return f"""clock AS (
    UPDATE approval_clocks c
    SET stopped_at = {at}, stop_reason = {reason}::text,
        breached_notified_at = CASE WHEN {report} AND c.deadline_at < {at}
                                    THEN coalesce(prior.breached_notified_at, {at})
                                    ELSE prior.breached_notified_at END
    FROM app, (SELECT k.id, k.breached_notified_at FROM approval_clocks k
               WHERE k.application_id = {app_id} AND k.stopped_at IS NULL
               FOR UPDATE) AS prior
    WHERE c.id = prior.id AND c.application_id = app.id AND {reason}::text IS NOT NULL
    RETURNING c.application_id, c.seq, c.tier_working_days, c.received_at, c.deadline_date,
              c.deadline_at,
              {report} AND c.deadline_at < {at} AND prior.breached_notified_at IS NULL
                  AS newly_breached
)"""


async def stop_and_move(
    db: Db,
    *,
    application_id: UUID,
    version: int,
    from_states: Sequence[ApplicationState],
    to_state: ApplicationState,
    now: datetime,
    today: date,
    sets: dict[str, Any],
    stop_reason: str | None,
    end_pledges: bool,
    report_breach: bool,
    prior_state: ApplicationState,
    actor: journal.Actor,
    audit: Sequence[journal.AuditEntry],
    events: Sequence[journal.Event],
) -> bool:
    """Move an application between states in one statement, with its audit entries and
    events: stop its running clock (if any) with ``stop_reason``; with ``end_pledges`` cancel
    its proposed pledges and release its registered ones. With ``report_breach`` a clock
    stopped after its deadline that the sweep has not reported yet is reported now
    (``application.sla_breached``, naming ``prior_state``, the state the move read), once:
    the sweep and this statement each mark the clock, and the second to come finds it
    marked."""
    params = journal.Params()
    app_id, at = params.add(application_id), params.add(now)
    assignments = "".join(f", {column} = {params.add(value)}" for column, value in sets.items())
    reason = params.add(stop_reason)
    report = f"{params.add(report_breach)}::bool"
    ctes = [
        f"""app AS (
    UPDATE applications
    SET state = {params.add(to_state)}, version = version + 1, updated_at = {at}{assignments}
    WHERE id = {app_id} AND version = {params.add(version)}
      AND state = ANY({params.add(list(from_states))}::text[])
    RETURNING id, state, reference, district_code, enterprise_id, relationship_manager_id,
              amount
)""",
        _stop_clock(app_id=app_id, at=at, reason=reason, report=report),
    ]
    if end_pledges:
        pledge_reason = f"{params.add(f'application {to_state}')}::text"
        cancelled = pledges_repository.cancel_for_application("app", now=at, reason=pledge_reason)
        released = pledges_repository.release_for_application(
            "app", now=at, today=f"{params.add(today)}::date", reason=pledge_reason
        )
        ctes += [f"pledges_cancelled AS ({cancelled})", f"pledges_released AS ({released})"]
    ctes += journal.render(params, actor, audit, events, source="app", name="move")
    if report_breach:
        ctes += _breach_report(params, actor, state=prior_state)
    row = await db.fetchrow("WITH " + ",\n".join(ctes) + "\nSELECT id FROM app", *params.values)
    return row is not None


def _breach_report(params: journal.Params, actor: journal.Actor, *, state: str) -> list[str]:
    """The ``application.sla_breached`` event (and its audit entry) of a clock the move
    stopped after its deadline, as the sweep reports one (``app.applications.sweep``)."""
    event_id = uuid7()
    event = journal.Event(
        type="application.sla_breached",
        id=event_id,
        district_code=journal.Sql("b.district_code"),
        data=journal.Sql(
            f"""jsonb_build_object(
            'application_id', b.application_id, 'reference', b.reference,
            'enterprise_id', b.enterprise_id, 'relationship_manager_id', b.relationship_manager_id,
            'amount', b.amount::text, 'state', {params.add(state)}::text, 'clock_seq', b.seq,
            'tier_working_days', b.tier_working_days, 'received_at', b.received_at,
            'deadline_date', b.deadline_date, 'deadline_at', b.deadline_at)"""
        ),
    )
    entry = journal.AuditEntry(
        action="application.sla_breached_reported",
        entity_type="application",
        entity_id=journal.Sql("b.application_id::text"),
        after=journal.Sql(
            f"""jsonb_build_object('clock_seq', b.seq, 'event_id', {params.add(event_id)}::uuid,
            'deadline_at', b.deadline_at)"""
        ),
    )
    source = """(SELECT * FROM clock JOIN app ON app.id = clock.application_id
                 WHERE clock.newly_breached) AS b"""
    return journal.render(params, actor, [entry], [event], source=source, name="breach")


def pledge_move_guard(
    params: journal.Params, *, pledge_id: str, now: str, states: Sequence[ApplicationState]
) -> str:
    """The CTE ``app`` for a move of one of the application's pledges, which is a change of
    the application too (its answer shows its pledges): the application must be in one of
    ``states``, and its version moves with the pledge, so that a move of the application
    decided on what it read before (a decline, a withdrawal) fails rather than overlook it."""
    return f"""app AS (
    UPDATE applications a SET version = a.version + 1, updated_at = {now}
    FROM pledges p
    WHERE p.id = {pledge_id} AND a.id = p.application_id
      AND a.state = ANY({params.add([state.value for state in states])}::text[])
    RETURNING a.id
)"""


def disbursement_move(
    params: journal.Params, *, application_id: str, version: int, now: str
) -> str:
    """The CTE ``app`` by which the statement that creates an application's loan moves the
    application from ``approved`` to ``disbursed``: only at ``version`` (the one the
    disbursement read), so that the loan is created with its application's move or not at
    all. ``app`` returns the application's ``id``; ``application_id`` and ``now`` are
    placeholders of ``params``."""
    return f"""app AS (
    UPDATE applications SET state = '{ApplicationState.DISBURSED.value}',
           version = version + 1, updated_at = {now}
    WHERE id = {application_id} AND state = '{ApplicationState.APPROVED.value}'
      AND version = {params.add(version)}
    RETURNING id
)"""
