"""The statement that submits (or resubmits) an application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from app.applications import sla
from app.applications.repository.columns import BASE_COLUMNS, IP_ASSET_IDS
from app.applications.sla import TIER_DAYS
from app.applications.states import SUBMITTABLE, ApplicationState, sql_list
from app.core import journal
from app.core.db import Db
from app.pledges import repository as pledges_repository

_SUBMITTED_AUDIT = journal.AuditEntry(
    action="application.submitted",
    entity_type="application",
    entity_id=journal.Sql("app.id::text"),
    before=journal.Sql("jsonb_build_object('state', app.prior_state)"),
    after=journal.Sql(
        f"""jsonb_build_object('state', '{ApplicationState.SUBMITTED}', 'seq', app.seq,
            'tier_working_days', app.tier_working_days, 'received_at', app.received_at,
            'deadline_date', app.deadline_date,
            'pledge_ids', (SELECT coalesce(jsonb_agg(id), '[]') FROM pledge))"""
    ),
)
_SUBMITTED_DATA = journal.Sql(
    """jsonb_build_object('application_id', app.id, 'reference', app.reference,
        'enterprise_id', app.enterprise_id, 'amount', app.amount::text,
        'relationship_manager_id', app.relationship_manager_id,
        'received_at', app.received_at, 'tier_working_days', app.tier_working_days,
        'deadline_date', app.deadline_date, 'deadline_at', app.deadline_at,
        'ip_asset_ids', to_jsonb(app.ip_asset_ids))"""
)


def _deadline_case(tier: str, values: Sequence[str], cast: str) -> str:
    cases = " ".join(
        f"WHEN {days} THEN {v}::{cast}" for days, v in zip(TIER_DAYS, values, strict=True)
    )
    return f"CASE {tier} {cases} END"


def _statement(
    p: Mapping[str, str], *, dates: Sequence[str], instants: Sequence[str], trail: Sequence[str]
) -> str:
    return f"""
WITH cur AS (
    SELECT {BASE_COLUMNS}, {IP_ASSET_IDS},
           coalesce(last.seq, 0) + 1 AS seq, last.stopped_at AS last_stopped_at,
           {sla.tier_sql("a.amount")} AS tier
    FROM applications a
    LEFT JOIN LATERAL (SELECT c.seq, c.stopped_at FROM approval_clocks c
                       WHERE c.application_id = a.id ORDER BY c.seq DESC LIMIT 1) last ON true
    WHERE a.id = {p["app_id"]}
      AND ({p["rm"]}::text IS NULL OR a.relationship_manager_id = {p["rm"]})
),
app AS (
    UPDATE applications a
    SET state = '{ApplicationState.SUBMITTED}', version = a.version + 1, updated_at = {p["at"]},
        received_at = {p["received"]}, tier_working_days = cur.tier,
        deadline_date = {_deadline_case("cur.tier", dates, "date")},
        deadline_at = {_deadline_case("cur.tier", instants, "timestamptz")}
    FROM cur
    WHERE a.id = cur.id AND a.version = cur.version
      AND a.state IN {sql_list(SUBMITTABLE)}
      AND ({p["version"]}::int[] IS NULL OR cur.version = ANY({p["version"]}::int[]))
      AND (cur.last_stopped_at IS NULL OR {p["received"]} >= cur.last_stopped_at)
    RETURNING a.id, cur.state AS prior_state, a.version, a.tier_working_days, a.deadline_date,
              a.deadline_at, a.received_at, a.district_code, a.reference, a.enterprise_id,
              a.amount, a.relationship_manager_id, cur.seq, cur.ip_asset_ids
),
clock AS (
    INSERT INTO approval_clocks (id, application_id, seq, tier_working_days, received_at,
                                 deadline_date, deadline_at, created_at)
    SELECT {p["clock"]}, app.id, app.seq, app.tier_working_days, {p["received"]}, app.deadline_date,
           app.deadline_at, {p["at"]}
    FROM app
),
pledge AS (
    {pledges_repository.propose_for_application("app", p["at"])}
),
{", ".join(trail)}
SELECT cur.*, app.version AS new_version,
       ARRAY(SELECT p.id FROM pledge p ORDER BY p.id) AS new_pledge_ids,
       ARRAY(SELECT p.ip_asset_id FROM pledge p ORDER BY p.id) AS new_pledge_assets
FROM cur LEFT JOIN app ON app.id = cur.id
"""


async def submit(
    db: Db,
    *,
    application_id: UUID,
    relationship_manager_id: str | None,
    if_match: list[int] | None,
    now: datetime,
    received_at: datetime,
    deadlines: Sequence[tuple[date | None, datetime | None]],
    clock_id: UUID,
    event_id: UUID,
    actor: journal.Actor,
) -> asyncpg.Record | None:
    """Submit (or resubmit) in one statement: the application, its new clock with the deadline
    of its tier (``deadlines``, one per tier of ``sla.TIERS``), one proposed pledge per asset on
    the first submission, the audit entry and the event. A live pledge of the same asset
    elsewhere fails the whole statement on ``uq_pledges_live_asset``. None when there is no
    such application (for this relationship manager); ``new_version`` null when it wrote
    nothing, with the application as it was (state, version, ``last_stopped_at``) to say
    why. The statement reads no clock, pledge or quote: a
    draft has none before its first submission, and a resubmission reads them afterwards. It
    may share a round trip with other requests' (``Db.fetchrow_keyed``)."""
    params = journal.Params()
    named = {
        "app_id": application_id,
        "rm": relationship_manager_id,
        "version": if_match,
        "at": now,
        "received": received_at,
    }
    p = {name: params.add(value) for name, value in named.items()}
    dates = [params.add(d) for d, _ in deadlines]
    instants = [params.add(i) for _, i in deadlines]
    p["clock"] = params.add(clock_id)
    event = journal.Event(
        type="application.submitted",
        data=_SUBMITTED_DATA,
        district_code=journal.Sql("app.district_code"),
        id=event_id,
    )
    trail = journal.render(params, actor, [_SUBMITTED_AUDIT], [event], source="app", name="submit")
    sql = _statement(p, dates=dates, instants=instants, trail=trail)
    return await db.fetchrow_keyed(sql, *params.values)
