"""SQL for applications, their approval clocks and their proposed pledges.

Reads return one row with everything a response needs (clocks, pledges and the locked quote
folded in as JSON). Writes are single conditional statements: they change nothing unless the
application is still at the version and in the state the service read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.applications import sla
from app.applications.sla import TIER_DAYS
from app.applications.states import SUBMITTABLE, ApplicationState, sql_list
from app.core import journal, outbox
from app.core.context import Ctx
from app.core.db import Db
from app.core.idempotency import Claim
from app.core.ids import uuid7
from app.core.jsonutil import dumps_str
from app.pledges import repository as pledges_repository

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


@dataclass(frozen=True, slots=True)
class KeyedAnswer:
    """The answer to store for an Idempotency-Key, written by the creating statement itself:
    ``idempotency.stored_response`` of the answer made with the ``tokens`` standing for what
    only the statement knows (the reference, the district and the industry)."""

    claim: Claim
    stored: tuple[Any, ...]
    tokens: Mapping[str, str]  # column of ``numbered`` -> its token in the body


def _answer_body(params: journal.Params, answer: KeyedAnswer) -> str:
    body = f"convert_from({params.add(answer.stored[5])}::bytea, 'UTF8')"
    for column, token in answer.tokens.items():
        body = f"replace({body}, {params.add(token)}::text, numbered.{column})"
    return f"convert_to({body}, 'UTF8')"


async def insert_draft(
    db: Db,
    *,
    ctx: Ctx,
    values: dict[str, Any],
    ip_asset_ids: list[UUID],
    audit_after: dict[str, Any],
    answer: KeyedAnswer | None,
) -> asyncpg.Record:
    """Create a draft in one statement: only if the enterprise exists and holds every named
    asset (``eligible``); numbered from the reference sequence; linked to its assets;
    audited; with ``answer``, its Idempotency-Key answer stored too (``locked``: the key was
    free; ``claimed``: the answer was stored, so the draft created). ``reference`` is null
    when it wrote nothing (see ``intake_diagnosis``). The statement may share a round trip
    with other requests' (``Db.fetchrow_keyed``): its first parameter is the new id."""
    params = journal.Params()
    p = {name: params.add(value) for name, value in values.items()}
    assets = params.add(ip_asset_ids)
    created = journal.AuditEntry(
        action="application.created",
        entity_type="application",
        entity_id=journal.Sql("app.id::text"),
        after=journal.Sql(
            f"{params.add(dumps_str(audit_after))}::jsonb"
            " || jsonb_build_object('reference', app.reference)"
        ),
    )
    trail = journal.render(params, outbox.actor(ctx), [created], [], source="app", name="created")
    claim = (
        outbox.claim_ctes(
            params,
            ctx,
            answer.claim,
            answer.stored,
            source="numbered",
            body=_answer_body(params, answer),
        )
        if answer is not None
        else ["claim_lock AS (SELECT true AS locked)", "claim AS (SELECT 1 FROM numbered)"]
    )
    return await db.fetchrow_keyed(
        f"""WITH ent AS (
                SELECT e.id, e.district_code, e.industry FROM enterprises e
                WHERE e.id = {p["enterprise_id"]}
                  AND (SELECT count(*) FROM ip_assets x
                       WHERE x.id = ANY({assets}::uuid[]) AND x.holder_enterprise_id = e.id)
                      = cardinality({assets}::uuid[])
            ),
            numbered AS (
                SELECT ent.*, 'ZCR-' || {p["year"]} || '-'
                       || lpad(n, greatest(6, length(n)), '0') AS reference
                FROM ent, LATERAL (SELECT nextval('application_reference_seq')::text AS n) s
            ),
            {", ".join(claim)},
            app AS (
                INSERT INTO applications
                    (id, reference, enterprise_id, relationship_manager_id, amount, term_months,
                     purpose, state, district_code, industry, created_at, updated_at, created_by,
                     version)
                SELECT {p["id"]}, reference, id,
                       {p["relationship_manager_id"]}, {p["amount"]}, {p["term_months"]},
                       {p["purpose"]}, '{ApplicationState.DRAFT}', district_code, industry,
                       {p["created_at"]}, {p["created_at"]}, {p["created_by"]}, 1
                FROM numbered
                WHERE EXISTS (SELECT FROM claim)
                RETURNING id, reference, district_code, industry
            ),
            links AS (
                INSERT INTO application_assets (application_id, ip_asset_id)
                SELECT app.id, asset FROM app, unnest({assets}::uuid[]) AS asset
            ),
            {", ".join(trail)}
            SELECT {p["id"]}::uuid AS id, app.reference, app.district_code, app.industry,
                   EXISTS (SELECT FROM numbered) AS eligible,
                   (SELECT locked FROM claim_lock) AS locked,
                   EXISTS (SELECT FROM claim) AS claimed
            FROM (SELECT) AS one LEFT JOIN app ON true""",
        *params.values,
    )


# What a submission's audit entry and event say, from the rows the statement wrote (``app``
# and ``pledge``), so that they are written by that statement.
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


async def submit(
    db: Db,
    *,
    application_id: UUID,
    relationship_manager_id: str | None,
    if_match: int | None,
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
    app_id, rm, version = (
        params.add(v) for v in (application_id, relationship_manager_id, if_match)
    )
    at, received = params.add(now), params.add(received_at)
    dates = [params.add(d) for d, _ in deadlines]
    instants = [params.add(i) for _, i in deadlines]
    clock = params.add(clock_id)
    event = journal.Event(
        type="application.submitted",
        data=_SUBMITTED_DATA,
        district_code=journal.Sql("app.district_code"),
        id=event_id,
    )
    trail = journal.render(params, actor, [_SUBMITTED_AUDIT], [event], source="app", name="submit")
    sql = f"""
WITH cur AS (
    SELECT {BASE_COLUMNS}, {IP_ASSET_IDS},
           coalesce(last.seq, 0) + 1 AS seq, last.stopped_at AS last_stopped_at,
           {sla.tier_sql("a.amount")} AS tier
    FROM applications a
    LEFT JOIN LATERAL (SELECT c.seq, c.stopped_at FROM approval_clocks c
                       WHERE c.application_id = a.id ORDER BY c.seq DESC LIMIT 1) last ON true
    WHERE a.id = {app_id} AND ({rm}::text IS NULL OR a.relationship_manager_id = {rm})
),
app AS (
    UPDATE applications a
    SET state = '{ApplicationState.SUBMITTED}', version = a.version + 1, updated_at = {at},
        received_at = {received}, tier_working_days = cur.tier,
        deadline_date = {_deadline_case("cur.tier", dates, "date")},
        deadline_at = {_deadline_case("cur.tier", instants, "timestamptz")}
    FROM cur
    WHERE a.id = cur.id AND a.version = cur.version
      AND a.state IN {sql_list(SUBMITTABLE)}
      AND ({version}::int IS NULL OR cur.version = {version})
      AND (cur.last_stopped_at IS NULL OR {received} >= cur.last_stopped_at)
    RETURNING a.id, cur.state AS prior_state, a.version, a.tier_working_days, a.deadline_date,
              a.deadline_at, a.received_at, a.district_code, a.reference, a.enterprise_id,
              a.amount, a.relationship_manager_id, cur.seq, cur.ip_asset_ids
),
clock AS (
    INSERT INTO approval_clocks (id, application_id, seq, tier_working_days, received_at,
                                 deadline_date, deadline_at, created_at)
    SELECT {clock}, app.id, app.seq, app.tier_working_days, {received}, app.deadline_date,
           app.deadline_at, {at}
    FROM app
),
pledge AS (
    {pledges_repository.propose_for_application("app", at)}
),
{", ".join(trail)}
SELECT cur.*, app.version AS new_version,
       ARRAY(SELECT p.id FROM pledge p ORDER BY p.id) AS new_pledge_ids,
       ARRAY(SELECT p.ip_asset_id FROM pledge p ORDER BY p.id) AS new_pledge_assets
FROM cur LEFT JOIN app ON app.id = cur.id
"""
    return await db.fetchrow_keyed(sql, *params.values)


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
    actor: journal.Actor,
    audit: Sequence[journal.AuditEntry],
    events: Sequence[journal.Event],
) -> bool:
    """Move an application between states in one statement, with its audit entries and
    events: stop its running clock (if any) with ``stop_reason``; with ``end_pledges`` cancel
    its proposed pledges and release its registered ones. With ``report_breach`` a clock
    stopped after its deadline that the sweep has not reported yet is reported now
    (``application.sla_breached``), once: the sweep and this statement each mark the clock,
    and the second to come finds it marked."""
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
        f"""clock AS (
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
)""",
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
        ctes += _breach_report(params, actor, state=from_states[0])
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


async def state_of(db: Db, application_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT state, version FROM applications WHERE id = $1", application_id
    )


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
