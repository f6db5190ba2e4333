"""Intake: a new application, in draft, naming the enterprise and the IP assets it pledges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from starlette.responses import Response

from app.applications import repository
from app.applications.domain import Application
from app.applications.rules import relationship_manager
from app.applications.schemas import ApplicationCreate
from app.applications.states import ApplicationState
from app.core import idempotency, outbox
from app.core.context import Ctx
from app.core.errors import IdempotencyRequestInProgress, ValidationFailed, field_error
from app.core.idempotency import Claim
from app.core.ids import uuid7
from app.core.jsonutil import dumps

_ASSETS: list[str | int] = ["body", "ip_asset_ids"]


async def _refusal(ctx: Ctx, enterprise_id: UUID, asset_ids: list[UUID]) -> ValidationFailed:
    """Why an intake wrote nothing, read only then."""
    facts = await repository.intake_diagnosis(
        ctx.db, enterprise_id=enterprise_id, ip_asset_ids=asset_ids
    )
    if facts is None:
        return ValidationFailed(
            "no such enterprise",
            errors=[field_error(["body", "enterprise_id"], "unknown enterprise")],
        )
    unknown = sorted(str(a) for a in set(asset_ids) - set(facts["found"]))
    if unknown:
        return ValidationFailed(
            f"unknown IP assets: {', '.join(unknown)}",
            errors=[field_error(_ASSETS, f"unknown: {', '.join(unknown)}")],
        )
    not_held = sorted(str(a) for a in set(asset_ids) - set(facts["held"]))
    return ValidationFailed(
        "every asset must be held by the enterprise (or, cross-border, used under its "
        f"licence): {', '.join(not_held)} is not",
        errors=[field_error(_ASSETS, f"not the enterprise's: {', '.join(not_held)}")],
    )


def _draft(values: dict[str, Any], created: Any, asset_ids: list[UUID]) -> dict[str, Any]:
    created = {column: created[column] for column in ("reference", "district_code", "industry")}
    """The new draft as the read would give it: it has no clock, pledge, quote or decision."""
    empty = (
        "received_at tier_working_days deadline_date deadline_at decided_at outcome "
        "approved_amount rate_bp quote_id quote decision_reason return_reason withdraw_reason"
    )
    return {
        **values,
        **created,
        **dict.fromkeys(empty.split()),
        "state": ApplicationState.DRAFT,
        "ip_asset_ids": sorted(asset_ids),
        "updated_at": values["created_at"],
        "version": 1,
        "clocks": [],
        "pledges": [],
    }


Present = Callable[[Application], Response]


@dataclass(frozen=True, slots=True)
class _Keyed:
    """With an Idempotency-Key, the answer made before the statement runs, with what only the
    statement knows standing as tokens (unguessable, so no text a caller sent can hold one):
    the statement stores it with the tokens filled in, and the caller is sent the same."""

    answer: Response
    stored: repository.KeyedAnswer

    def filled(self, created: Mapping[str, Any]) -> Response:
        body = bytes(self.answer.body)
        for column, token in self.stored.tokens.items():
            body = body.replace(token.encode(), dumps(created[column])[1:-1])
        headers = {k: v for k, v in self.answer.headers.items() if k != "content-length"}
        return Response(body, status_code=self.answer.status_code, headers=headers, media_type=None)


def _keyed_answer(
    ctx: Ctx, claim: Claim, values: dict[str, Any], asset_ids: list[UUID], present: Present
) -> _Keyed:
    salt = uuid4().hex
    tokens = {
        column: f"ipledge{salt}{column}" for column in ("reference", "district_code", "industry")
    }
    answer = present(Application.of(_draft(values, tokens, asset_ids)))
    stored = idempotency.stored_response(ctx, claim, answer)
    return _Keyed(answer, repository.KeyedAnswer(claim=claim, stored=stored, tokens=tokens))


async def create_application(
    ctx: Ctx, *, body: ApplicationCreate, claim: Claim | None, present: Present
) -> Response:
    """One statement: checks the enterprise and its assets, numbers the draft, links the
    assets, writes the audit entry and, for an Idempotency-Key, stores the answer as
    ``present`` makes it; the reasons for a refusal are read only then. Returns the answer:
    ``present`` of the new draft, or the one stored for the Idempotency-Key."""
    manager = relationship_manager(ctx, body.relationship_manager_id)
    asset_ids = list(dict.fromkeys(body.ip_asset_ids))
    if len(asset_ids) != len(body.ip_asset_ids):
        raise ValidationFailed(
            "an asset is named twice", errors=[field_error(_ASSETS, "duplicate asset ids")]
        )
    values = {
        "id": uuid7(),  # first: the statement's key (``Db.fetchrow_keyed``)
        "year": str(ctx.today.year),
        "enterprise_id": body.enterprise_id,
        "relationship_manager_id": manager,
        "amount": body.amount,
        "term_months": body.term_months,
        "purpose": body.purpose,
        "created_at": ctx.now,
        "created_by": ctx.principal.key_id,
    }
    after = {
        "state": ApplicationState.DRAFT,
        "enterprise_id": body.enterprise_id,
        "amount": body.amount,
        "term_months": body.term_months,
        # The stated use of the funds: what the credit decision and any later check of the
        # loan's use rest on, so the trail keeps it as the caller gave it.
        "purpose": body.purpose,
        "relationship_manager_id": manager,
        "ip_asset_ids": sorted(asset_ids),
    }
    keyed = _keyed_answer(ctx, claim, values, asset_ids, present) if claim else None
    created = await repository.insert_draft(
        ctx.db,
        ctx=ctx,
        values=values,
        ip_asset_ids=asset_ids,
        audit_after=after,
        answer=keyed.stored if keyed else None,
    )
    if not created["locked"]:
        raise IdempotencyRequestInProgress()
    if not created["eligible"]:
        raise await _refusal(ctx, body.enterprise_id, asset_ids)
    if not created["claimed"] and claim is not None:
        raise await outbox.answer_of_claim(ctx, claim)
    if keyed is not None:
        return keyed.filled(created)
    return present(Application.of(_draft(values, created, asset_ids)))
