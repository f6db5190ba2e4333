"""The approval clocks' statements for the SLA sweep and the deadline recomputation
(``app.applications.sweep``): which clocks are due, marking and reporting them, and storing
deadlines the calendar could give only later."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core import journal
from app.core.clock import business_date
from app.core.context import SYSTEM
from app.core.db import Db

# At most this many clocks per statement, the earliest deadlines first; ``emit_due_events``
# repeats the statement until one marks fewer. The order and the limit also keep the plan on
# the partial index ``ix_approval_clocks_sweep``: without them, a table of a million clocks had
# the planner expect a hundred thousand due (it takes the index's correlated conditions as
# independent) and join all of ``applications`` by hash, 31 ms a pass instead of under one.
SWEEP_BATCH = 1000


# What the sweep reports for each clock it marks (rows of ``fired``), as the decision reports
# a breach (``app.applications.repository``): an event and the audit entry naming it.
_REPORTED_EVENT = journal.Event(
    type=journal.Sql("f.type"),
    id=journal.Sql("f.event_id"),
    district_code=journal.Sql("f.district_code"),
    data=journal.Sql(
        """jsonb_build_object(
           'application_id', f.application_id, 'reference', f.reference,
           'enterprise_id', f.enterprise_id, 'relationship_manager_id', f.relationship_manager_id,
           'amount', f.amount::text, 'state', f.state, 'clock_seq', f.seq,
           'tier_working_days', f.tier_working_days, 'received_at', f.received_at,
           'deadline_date', f.deadline_date, 'deadline_at', f.deadline_at)"""
    ),
)
_REPORTED_AUDIT = journal.AuditEntry(
    action=journal.Sql("f.type || '_reported'"),
    entity_type="application",
    entity_id=journal.Sql("f.application_id::text"),
    after=journal.Sql(
        "jsonb_build_object('clock_seq', f.seq, 'event_id', f.event_id, "
        "'deadline_at', f.deadline_at)"
    ),
)


@functools.cache
def sweep_sql(batch: int) -> str:
    """The sweep's statement; its parameters are ``now`` and today, then those of the reports
    (``sweep_args``)."""
    params = journal.Params(["now", "today"])
    reports = journal.render(
        params, _SWEEP_ACTOR, [_REPORTED_AUDIT], [_REPORTED_EVENT], source="fired f", name="sweep"
    )
    return _SWEEP_SQL.replace("{batch}", str(int(batch))).replace("{reports}", ",\n".join(reports))


def sweep_args(now: datetime, request_id: str) -> list[object]:
    params = journal.Params([now, business_date(now)])
    actor = replace(_SWEEP_ACTOR, at=now, request_id=request_id)
    journal.render(params, actor, [_REPORTED_AUDIT], [_REPORTED_EVENT], source="fired f")
    return params.values


_SWEEP_ACTOR = journal.Actor(
    at=datetime.min.replace(tzinfo=UTC),
    key_id=SYSTEM.key_id,
    role=SYSTEM.role.value,
    subject=SYSTEM.subject,
    request_id="-",
)

_SWEEP_SQL = """
WITH candidate AS (
    SELECT c.id FROM approval_clocks c
    WHERE c.stopped_at IS NULL
      AND c.breached_notified_at IS NULL
      AND c.deadline_date <= $2
      AND (c.at_risk_notified_at IS NULL OR c.deadline_at < $1)
    ORDER BY c.deadline_date
    LIMIT {batch}
),
due AS (
    UPDATE approval_clocks c
    SET at_risk_notified_at = coalesce(c.at_risk_notified_at, $1),
        breached_notified_at = CASE WHEN c.deadline_at < $1 THEN $1 END
    FROM candidate k, applications a
    WHERE c.id = k.id
      AND a.id = c.application_id
      AND c.stopped_at IS NULL
      AND c.breached_notified_at IS NULL
      AND c.deadline_date <= $2
      AND (c.at_risk_notified_at IS NULL OR c.deadline_at < $1)
    RETURNING c.id, c.application_id, c.seq, c.tier_working_days, c.received_at,
              c.deadline_date, c.deadline_at,
              c.at_risk_notified_at = $1 AS newly_at_risk,
              c.breached_notified_at IS NOT NULL AS newly_breached,
              a.reference, a.district_code, a.enterprise_id, a.relationship_manager_id,
              a.amount, a.state
),
fired AS (
    SELECT d.*, e.type, uuid7() AS event_id
    FROM due d
    CROSS JOIN LATERAL (VALUES ('application.sla_at_risk', d.newly_at_risk),
                               ('application.sla_breached', d.newly_breached)) AS e(type, fire)
    WHERE e.fire
),
{reports}
SELECT (SELECT count(*) FROM due) AS marked,
       count(*) FILTER (WHERE type = 'application.sla_at_risk') AS at_risk,
       count(*) FILTER (WHERE type = 'application.sla_breached') AS breached
FROM fired
"""


async def report_due(db: Db, sql: str, *, now: datetime, request_id: str) -> asyncpg.Record:
    """One pass of ``sweep_sql``: marks and reports due clocks; the counts of what it did."""
    row = await db.fetchrow(sql, *sweep_args(now, request_id))
    assert row is not None  # aggregates: always one row
    return row


async def clocks_where(db: Db, where: str, args: list[Any]) -> list[asyncpg.Record]:
    return await db.fetch(
        f"""SELECT c.id, c.application_id, c.seq, c.tier_working_days, c.received_at,
                   c.deadline_date
            FROM approval_clocks c WHERE {where}""",
        *args,
    )


async def store_deadlines(
    db: Db, ids: list[UUID], dates: list[date | None], instants: list[datetime | None]
) -> None:
    """The clocks' new deadlines (null: pending a year's publication), mirrored on their
    applications when current."""
    await db.execute(
        """WITH changed AS (
               UPDATE approval_clocks c SET deadline_date = u.deadline_date,
                      deadline_at = u.deadline_at
               FROM unnest($1::uuid[], $2::date[], $3::timestamptz[])
                    AS u(id, deadline_date, deadline_at)
               WHERE c.id = u.id
               RETURNING c.application_id, c.seq, c.deadline_date, c.deadline_at
           )
           UPDATE applications a
           SET deadline_date = changed.deadline_date, deadline_at = changed.deadline_at
           FROM changed
           WHERE a.id = changed.application_id
             AND changed.seq = (SELECT max(seq) FROM approval_clocks x
                                WHERE x.application_id = a.id)""",
        ids,
        dates,
        instants,
    )
