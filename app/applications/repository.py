"""SQL for applications, their approval clocks and their proposed pledges.

Reads return one row with everything a response needs (clocks, pledges and the locked quote
folded in as JSON). Writes are single conditional statements: they change nothing unless the
application is still at the version and in the state the service read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import shift_params

BASE_COLUMNS = """
    a.id, a.reference, a.state, a.enterprise_id, a.relationship_manager_id, a.amount,
    a.term_months, a.purpose, a.district_code, a.industry, a.created_at, a.updated_at,
    a.version, a.received_at, a.tier_working_days, a.deadline_date, a.deadline_at,
    a.decided_at, a.outcome, a.approved_amount, a.rate_bp, a.quote_id, a.decision_reason,
    a.return_reason, a.withdraw_reason"""

# The application's assets, in the order every answer lists them.
IP_ASSET_IDS = """ARRAY(SELECT aa.ip_asset_id FROM application_assets aa
          WHERE aa.application_id = a.id ORDER BY aa.ip_asset_id) AS ip_asset_ids"""

DETAIL_COLUMNS = (
    BASE_COLUMNS
    + ",\n    "
    + IP_ASSET_IDS
    + """,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'seq', c.seq, 'tier_working_days', c.tier_working_days,
                'received_at', c.received_at, 'deadline_date', c.deadline_date,
                'deadline_at', c.deadline_at, 'stopped_at', c.stopped_at,
                'stop_reason', c.stop_reason) ORDER BY c.seq), '[]'::jsonb)
     FROM approval_clocks c WHERE c.application_id = a.id) AS clocks,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', p.id, 'ip_asset_id', p.ip_asset_id, 'state', p.state,
                'registration_no', p.registration_no, 'registered_on', p.registered_on,
                'version', p.version) ORDER BY p.id), '[]'::jsonb)
     FROM pledges p WHERE p.application_id = a.id) AS pledges,
    (SELECT jsonb_build_object(
                'id', q.id, 'application_id', q.application_id, 'quote_date', q.quote_date,
                'amount', q.amount::text, 'term_months', q.term_months, 'lpr_bp', q.lpr_bp,
                'lpr_date', q.lpr_date, 'spread_bp', q.spread_bp, 'components', q.components,
                'discount_uncapped_bp', q.discount_uncapped_bp, 'discount_bp', q.discount_bp,
                'rate_bp', q.rate_bp, 'created_at', q.created_at)
     FROM application_quotes q WHERE q.id = a.quote_id) AS quote
"""
)


async def get(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {DETAIL_COLUMNS} FROM applications a WHERE a.id = $1", application_id
    )


async def page(db: Db, *, where: str, args: list[Any], limit_param: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT {DETAIL_COLUMNS} FROM applications a {where} "
        f"ORDER BY a.id DESC LIMIT {limit_param}",
        *args,
    )


async def intake_diagnosis(
    db: Db, *, enterprise_id: UUID, ip_asset_ids: list[UUID]
) -> asyncpg.Record | None:
    """Why an intake wrote nothing: the enterprise (None when unknown), and which of the named
    assets exist and which it holds. Read only on the failure path."""
    return await db.fetchrow(
        """SELECT ARRAY(SELECT x.id FROM ip_assets x WHERE x.id = ANY($2::uuid[])) AS found,
                  ARRAY(SELECT x.id FROM ip_assets x
                        WHERE x.id = ANY($2::uuid[]) AND x.holder_enterprise_id = e.id) AS held
           FROM enterprises e WHERE e.id = $1""",
        enterprise_id,
        ip_asset_ids,
    )


async def insert_draft(
    db: Db,
    *,
    values: dict[str, Any],
    ip_asset_ids: list[UUID],
    audit_after: str,
    actor: tuple[Any, ...],
) -> asyncpg.Record | None:
    """Create a draft in one statement: only if the enterprise exists and holds every named
    asset; numbered from the reference sequence; linked to its assets; audited. None when it
    wrote nothing (see ``intake_diagnosis``)."""
    return await db.fetchrow_keyed(
        """WITH ent AS (
                SELECT e.id, e.district_code, e.industry FROM enterprises e
                WHERE e.id = $3
                  AND (SELECT count(*) FROM ip_assets x
                       WHERE x.id = ANY($11::uuid[]) AND x.holder_enterprise_id = e.id)
                      = cardinality($11::uuid[])
            ),
            numbered AS (
                SELECT ent.*, nextval('application_reference_seq')::text AS n FROM ent
            ),
            app AS (
                INSERT INTO applications
                    (id, reference, enterprise_id, relationship_manager_id, amount, term_months,
                     purpose, state, district_code, industry, created_at, updated_at, created_by,
                     version)
                SELECT $1, 'ZCR-' || $2 || '-' || lpad(n, greatest(6, length(n)), '0'), id, $4,
                       $5, $6, $7, 'draft', district_code, industry, $8, $8, $9, 1
                FROM numbered
                RETURNING id, reference, district_code, industry
            ),
            links AS (
                INSERT INTO application_assets (application_id, ip_asset_id)
                SELECT app.id, asset FROM app, unnest($11::uuid[]) AS asset
            ),
            trail AS (
                INSERT INTO audit_events
                    (occurred_at, actor_key_id, actor_role, actor_subject, action, entity_type,
                     entity_id, before, after, request_id)
                SELECT $8, $9, $12, $13, 'application.created', 'application', app.id::text,
                       NULL, $10::jsonb || jsonb_build_object('reference', app.reference), $14
                FROM app
            )
            SELECT id, reference, district_code, industry FROM app""",
        values["id"],
        values["year"],
        values["enterprise_id"],
        values["relationship_manager_id"],
        values["amount"],
        values["term_months"],
        values["purpose"],
        values["created_at"],
        values["created_by"],
        audit_after,
        ip_asset_ids,
        *actor,
    )


# The statement reads no clock, pledge or quote: a draft has none before its first submission,
# and a resubmission reads them afterwards (see ``service.submit_application``).
SUBMIT_SQL = f"""
WITH cur AS (
    SELECT {BASE_COLUMNS}, {IP_ASSET_IDS},
           coalesce(last.seq, 0) + 1 AS seq, last.stopped_at AS last_stopped_at,
           CASE WHEN a.amount <= 10000000.00 THEN 3
                WHEN a.amount <= 30000000.00 THEN 5 ELSE 10 END AS tier
    FROM applications a
    LEFT JOIN LATERAL (SELECT c.seq, c.stopped_at FROM approval_clocks c
                       WHERE c.application_id = a.id ORDER BY c.seq DESC LIMIT 1) last ON true
    WHERE a.id = $1 AND ($2::text IS NULL OR a.relationship_manager_id = $2)
),
app AS (
    UPDATE applications a
    SET state = 'submitted', version = a.version + 1, updated_at = $4, received_at = $5,
        tier_working_days = cur.tier,
        deadline_date = CASE cur.tier WHEN 3 THEN $6::date WHEN 5 THEN $7::date ELSE $8::date END,
        deadline_at = CASE cur.tier WHEN 3 THEN $9::timestamptz WHEN 5 THEN $10::timestamptz
                                    ELSE $11::timestamptz END
    FROM cur
    WHERE a.id = cur.id AND a.version = cur.version
      AND a.state IN ('draft', 'awaiting_information')
      AND ($3::int IS NULL OR cur.version = $3)
      AND (cur.last_stopped_at IS NULL OR $5 >= cur.last_stopped_at)
    RETURNING a.id, cur.state AS prior_state, a.version, a.tier_working_days, a.deadline_date,
              a.deadline_at, a.district_code, a.reference, a.enterprise_id, a.amount,
              a.relationship_manager_id, cur.seq,
              cur.ip_asset_ids
),
clock AS (
    INSERT INTO approval_clocks (id, application_id, seq, tier_working_days, received_at,
                                 deadline_date, deadline_at, created_at)
    SELECT $12, app.id, app.seq, app.tier_working_days, $5, app.deadline_date, app.deadline_at,
           $4
    FROM app
),
pledge AS (
    INSERT INTO pledges (id, application_id, ip_asset_id, state, created_at, updated_at, version)
    SELECT uuid7(), app.id, asset, 'proposed', $4, $4, 1
    FROM app, unnest(app.ip_asset_ids) AS asset
    WHERE app.prior_state = 'draft'
    RETURNING id, ip_asset_id
),
trail AS (
    INSERT INTO audit_events (occurred_at, actor_key_id, actor_role, actor_subject, action,
                              entity_type, entity_id, before, after, request_id)
    SELECT $4, $13, $14, $15, 'application.submitted', 'application', app.id::text,
           jsonb_build_object('state', app.prior_state),
           jsonb_build_object('state', 'submitted', 'seq', app.seq,
                              'tier_working_days', app.tier_working_days, 'received_at', $5,
                              'deadline_date', app.deadline_date,
                              'pledge_ids', (SELECT coalesce(jsonb_agg(id), '[]') FROM pledge)),
           $16
    FROM app
),
event AS (
    INSERT INTO outbox_events (id, type, occurred_at, district_code, data)
    SELECT $17, 'application.submitted', $4, app.district_code,
           jsonb_build_object('application_id', app.id, 'reference', app.reference,
                              'enterprise_id', app.enterprise_id, 'amount', app.amount::text,
                              'relationship_manager_id', app.relationship_manager_id,
                              'received_at', $5, 'tier_working_days', app.tier_working_days,
                              'deadline_date', app.deadline_date,
                              'deadline_at', app.deadline_at,
                              'ip_asset_ids', to_jsonb(app.ip_asset_ids))
    FROM app
)
SELECT cur.*, app.version AS new_version,
       ARRAY(SELECT p.id FROM pledge p ORDER BY p.id) AS new_pledge_ids,
       ARRAY(SELECT p.ip_asset_id FROM pledge p ORDER BY p.id) AS new_pledge_assets
FROM cur JOIN app ON app.id = cur.id
"""


async def submit(
    db: Db,
    *,
    application_id: UUID,
    relationship_manager_id: str | None,
    if_match: int | None,
    now: datetime,
    received_at: datetime,
    deadlines: tuple[tuple[date | None, datetime | None], ...],
    clock_id: UUID,
    event_id: UUID,
    actor_key_id: UUID | None,
    actor: tuple[Any, ...],
) -> asyncpg.Record | None:
    """Submit (or resubmit) in one statement: the application, its new clock with the deadline
    of its tier (``deadlines`` for 3, 5 and 10 working days), one proposed pledge per asset on
    the first submission, the audit entry and the event. A live pledge of the same asset
    elsewhere fails the whole statement on ``uq_pledges_live_asset``. None when it wrote
    nothing (see ``submission_refusal``)."""
    (d3, i3), (d5, i5), (d10, i10) = deadlines
    role, subject, request_id = actor
    return await db.fetchrow_keyed(
        SUBMIT_SQL,
        application_id,
        relationship_manager_id,
        if_match,
        now,
        received_at,
        d3,
        d5,
        d10,
        i3,
        i5,
        i10,
        clock_id,
        actor_key_id,
        role,
        subject,
        request_id,
        event_id,
    )


async def submission_refusal(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        """SELECT a.state, a.version, a.relationship_manager_id,
                  (SELECT max(c.stopped_at) FROM approval_clocks c
                   WHERE c.application_id = a.id) AS last_stopped_at
           FROM applications a WHERE a.id = $1""",
        application_id,
    )


async def stop_and_move(
    db: Db,
    *,
    application_id: UUID,
    version: int,
    from_states: tuple[str, ...],
    to_state: str,
    now: datetime,
    today: date,
    sets: dict[str, Any],
    stop_reason: str | None,
    cancel_proposed_pledges: bool,
    release_registered_pledges: bool,
    folded: str,
    folded_args: list[Any],
) -> bool:
    """Move an application between states in one statement: stop its running clock (if any)
    with ``stop_reason``, cancel proposed pledges and release registered ones as asked."""
    assignments = "".join(f", {column} = ${6 + i}" for i, column in enumerate(sets))
    base = 6 + len(sets)
    args: list[Any] = [application_id, version, list(from_states), to_state, now, *sets.values()]
    args += [today, stop_reason, cancel_proposed_pledges, release_registered_pledges]
    today_p, reason_p, cancel_p, release_p = (f"${base + i}" for i in range(4))
    row = await db.fetchrow(
        f"""WITH app AS (
                UPDATE applications
                SET state = $4, version = version + 1, updated_at = $5{assignments}
                WHERE id = $1 AND version = $2 AND state = ANY($3::text[])
                RETURNING id
            ),
            clock AS (
                UPDATE approval_clocks c SET stopped_at = $5, stop_reason = {reason_p}::text
                FROM app
                WHERE c.application_id = app.id AND c.stopped_at IS NULL
                  AND {reason_p}::text IS NOT NULL
            ),
            cancelled AS (
                UPDATE pledges p
                SET state = 'cancelled', state_reason = 'application ' || $4,
                    updated_at = $5, version = p.version + 1
                FROM app
                WHERE p.application_id = app.id AND p.state = 'proposed' AND {cancel_p}::bool
            ),
            released AS (
                UPDATE pledges p
                SET state = 'released', released_on = {today_p}::date,
                    state_reason = 'application ' || $4, updated_at = $5,
                    version = p.version + 1
                FROM app
                WHERE p.application_id = app.id AND p.state = 'registered' AND {release_p}::bool
            ){"," if folded else ""}
            {shift_params(folded, len(args))}
            SELECT id FROM app""",
        *args,
        *folded_args,
    )
    return row is not None


async def state_of(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT state, version FROM applications WHERE id = $1", application_id
    )
