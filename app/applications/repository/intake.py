"""The statement that creates a draft."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from app.applications.states import ApplicationState
from app.core import journal, outbox
from app.core.context import Ctx
from app.core.db import Db
from app.core.idempotency import Claim
from app.core.jsonutil import snapshot


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


def _statement(p: Mapping[str, str], assets: str, *, claim: list[str], trail: list[str]) -> str:
    return f"""WITH ent AS (
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
            FROM (SELECT) AS one LEFT JOIN app ON true"""


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
            f"{params.add(snapshot(audit_after))}::jsonb"
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
    sql = _statement(p, assets, claim=claim, trail=trail)
    return await db.fetchrow_keyed(sql, *params.values)


# What a submission's audit entry and event say, from the rows the statement wrote (``app``
# and ``pledge``), so that they are written by that statement.
