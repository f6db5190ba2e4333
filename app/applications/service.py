"""Applications: intake, the state machine, the approval clock, and who may see what.

States: draft → submitted → under_review → approved | declined; submitted or under_review →
awaiting_information → submitted again; withdrawn from any state but declined, withdrawn and
disbursed; approved → disbursed (loans). Every other move is 409 invalid-state-transition.

Every function answers with the application's view (``app.applications.views``): the wire form
of ``ApplicationOut``, built without its models.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.applications import repository, sla, views
from app.applications.errors import IpAssetAlreadyPledged
from app.applications.schemas import ApplicationCreate, DecisionBody
from app.calendar import service as calendar_service
from app.calendar.errors import CalendarYearUnpublished
from app.calendar.index import CalendarIndex
from app.core import audit, outbox
from app.core.clock import business_date
from app.core.concurrency import check_if_match, if_match_version
from app.core.context import Ctx
from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from app.core.ids import uuid7
from app.core.jsonutil import dumps_str, to_jsonable
from app.core.roles import Role
from app.core.schemas import SHANGHAI, decode_cursor
from app.core.sql import Filters
from app.keys.service import RM_ID
from app.pricing import service as pricing_service

FINAL_STATES = frozenset({"declined", "withdrawn", "disbursed"})
WITHDRAWABLE = ("draft", "submitted", "under_review", "awaiting_information", "approved")
_ASSET_IN_DETAIL = re.compile(r"\(ip_asset_id\)=\(([0-9a-f-]{36})\)")


# --- reading -------------------------------------------------------------------------------


def _audit_move(ctx: Ctx, row: asyncpg.Record, action: str, after: dict[str, Any]) -> None:
    audit.record(
        ctx,
        action=f"application.{action}",
        entity_type="application",
        entity_id=row["id"],
        before={"state": row["state"]},
        after=after,
    )


def _visible(ctx: Ctx, row: asyncpg.Record | None, what: str = "application") -> asyncpg.Record:
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound(f"no such {what}")
    return row


async def get_application(ctx: Ctx, *, application_id: UUID) -> dict[str, Any]:
    row = _visible(ctx, await repository.get(ctx.db, application_id))
    return views.application(row, ctx.now)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


async def list_applications(
    ctx: Ctx,
    *,
    state: str | None,
    sla_state: sla.SlaState | None,
    district_code: str | None,
    industry: str | None,
    relationship_manager_id: str | None,
    received_from: date | None,
    received_to: date | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    filters = Filters()
    if ctx.principal.role is Role.RELATIONSHIP_MANAGER:
        filters.add("a.relationship_manager_id = {}", ctx.principal.subject)
    filters.when(relationship_manager_id, "a.relationship_manager_id = {}")
    filters.when(state, "a.state = {}")
    filters.when(district_code, "a.district_code = {}")
    filters.when(industry, "a.industry = {}")
    if received_from is not None:
        filters.add("a.received_at >= {}", _day_start(received_from))
    if received_to is not None:
        filters.add("a.received_at < {}", _day_start(received_to + timedelta(days=1)))
    if sla_state is not None:
        clause = sla.sla_filter(sla_state, "{now}", "{today}")
        if "{now}" in clause:
            clause = clause.replace("{now}", filters.param(ctx.now))
        if "{today}" in clause:
            clause = clause.replace("{today}", filters.param(ctx.today))
        filters.add(clause)
    filters.when(decode_cursor(cursor), "a.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return views.page(rows, limit, ctx.now)


# --- intake --------------------------------------------------------------------------------


def _relationship_manager(ctx: Ctx, named: str | None) -> str:
    principal = ctx.principal
    if principal.role is Role.RELATIONSHIP_MANAGER:
        if named is not None and named != principal.subject:
            raise ValidationFailed(
                "a relationship manager creates applications for themselves only",
                errors=[field_error(["body", "relationship_manager_id"], "must be your own id")],
            )
        return principal.subject  # type: ignore[return-value]
    if named is None:
        raise ValidationFailed(
            "name the relationship manager the application belongs to",
            errors=[field_error(["body", "relationship_manager_id"], "required for bank systems")],
        )
    if not RM_ID.match(named):
        raise ValidationFailed(
            "a relationship manager id is 1 to 64 letters, digits, dots, dashes or underscores",
            errors=[field_error(["body", "relationship_manager_id"], "malformed")],
        )
    return named


async def _intake_refusal(ctx: Ctx, enterprise_id: UUID, asset_ids: list[UUID]) -> ValidationFailed:
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
            errors=[field_error(["body", "ip_asset_ids"], f"unknown: {', '.join(unknown)}")],
        )
    not_held = sorted(str(a) for a in set(asset_ids) - set(facts["held"]))
    return ValidationFailed(
        "every asset must be held by the enterprise (or, cross-border, used under its "
        f"licence): {', '.join(not_held)} is not",
        errors=[
            field_error(["body", "ip_asset_ids"], f"not the enterprise's: {', '.join(not_held)}")
        ],
    )


def _actor(ctx: Ctx) -> tuple[Any, ...]:
    """The audit columns of the caller, for statements that write their own audit rows."""
    principal = ctx.principal
    return principal.role.value, principal.subject, ctx.request_id


async def create_application(ctx: Ctx, *, body: ApplicationCreate) -> dict[str, Any]:
    """One statement: checks the enterprise and its assets, numbers the draft, links the
    assets and writes the audit entry; the reasons for a refusal are read only then."""
    relationship_manager_id = _relationship_manager(ctx, body.relationship_manager_id)
    asset_ids = list(dict.fromkeys(body.ip_asset_ids))
    if len(asset_ids) != len(body.ip_asset_ids):
        raise ValidationFailed(
            "an asset is named twice",
            errors=[field_error(["body", "ip_asset_ids"], "duplicate asset ids")],
        )
    application_id = uuid7()
    values = {
        "id": application_id,
        "year": str(ctx.today.year),
        "enterprise_id": body.enterprise_id,
        "relationship_manager_id": relationship_manager_id,
        "amount": body.amount,
        "term_months": body.term_months,
        "purpose": body.purpose,
        "created_at": ctx.now,
        "created_by": ctx.principal.key_id,
    }
    after = {
        "state": "draft",
        "enterprise_id": body.enterprise_id,
        "amount": body.amount,
        "term_months": body.term_months,
        "relationship_manager_id": relationship_manager_id,
        "ip_asset_ids": sorted(asset_ids),
    }
    created = await repository.insert_draft(
        ctx.db,
        values=values,
        ip_asset_ids=asset_ids,
        audit_after=dumps_str(to_jsonable(after)),
        actor=_actor(ctx),
    )
    if created is None:
        raise await _intake_refusal(ctx, body.enterprise_id, asset_ids)
    draft = {
        **values,
        **dict(created),
        "state": "draft",
        "ip_asset_ids": sorted(asset_ids),
        "updated_at": ctx.now,
        "version": 1,
        "received_at": None,
        "tier_working_days": None,
        "deadline_date": None,
        "deadline_at": None,
        "decided_at": None,
        "outcome": None,
        "approved_amount": None,
        "rate_bp": None,
        "quote_id": None,
        "quote": None,
        "decision_reason": None,
        "return_reason": None,
        "withdraw_reason": None,
        "clocks": [],
        "pledges": [],
    }
    return views.application(draft, ctx.now)


# --- the clock -----------------------------------------------------------------------------


def _received_at(ctx: Ctx, requested: datetime | None) -> datetime:
    if requested is None:
        return ctx.now
    loc = ["body", "received_at"]
    if requested > ctx.now:
        raise ValidationFailed(
            "received_at may not be in the future", errors=[field_error(loc, "in the future")]
        )
    earliest = ctx.now - timedelta(days=ctx.settings.max_backdate_days)
    if requested < earliest:
        raise ValidationFailed(
            f"received_at may be at most {ctx.settings.max_backdate_days} days ago",
            errors=[field_error(loc, "too far in the past")],
        )
    return requested.astimezone(UTC)


def deadline(
    index: CalendarIndex, received_at: datetime, tier: int
) -> tuple[date | None, datetime | None]:
    """A clock's deadline, or (None, None) while it falls in an unpublished year."""
    try:
        deadline_date = index.add_working_days(business_date(received_at), tier)
    except CalendarYearUnpublished:
        return None, None
    return deadline_date, sla.deadline_instant(deadline_date)


async def _lost_race(ctx: Ctx, application_id: UUID, action: str) -> InvalidStateTransition:
    current = await repository.state_of(ctx.db, application_id)
    state = current["state"] if current else "gone"
    return InvalidStateTransition(f"cannot {action} an application that is {state}", state=state)


async def _submission_refusal(
    ctx: Ctx, application_id: UUID, received: datetime, if_match: int | None
) -> Exception:
    row = await repository.submission_refusal(ctx.db, application_id)
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        return NotFound("no such application")
    if if_match is not None and if_match != row["version"]:
        return PreconditionFailed(
            f"the resource is at version {row['version']}; read it again",
            current_version=row["version"],
        )
    if row["state"] not in ("draft", "awaiting_information"):
        return InvalidStateTransition(
            f"cannot submit an application that is {row['state']}", state=row["state"]
        )
    if row["last_stopped_at"] is not None and received < row["last_stopped_at"]:
        return ValidationFailed(
            "the complete materials cannot have arrived before the application was returned "
            "for them",
            errors=[field_error(["body", "received_at"], "before the return for information")],
        )
    return ConcurrentUpdate("the application changed meanwhile; read it again")


async def submit_application(
    ctx: Ctx, *, application_id: UUID, received_at: datetime | None
) -> dict[str, Any]:
    """One statement (see ``repository.submit``); the reasons for a refusal are read only
    then. The deadline of every tier is worked out beforehand: the statement keeps the one
    the amount falls in. A first submission is answered from what the statement wrote; a
    resubmission, which has earlier clocks and pledges, is read back once it has committed."""
    received = _received_at(ctx, received_at)
    if_match = if_match_version(ctx)
    index = await calendar_service.get_index(ctx.db)
    deadlines = tuple(deadline(index, received, tier) for tier in (3, 5, 10))
    principal = ctx.principal
    try:
        row = await repository.submit(
            ctx.db,
            application_id=application_id,
            relationship_manager_id=principal.subject
            if principal.role is Role.RELATIONSHIP_MANAGER
            else None,
            if_match=if_match,
            now=ctx.now,
            received_at=received,
            deadlines=deadlines,
            clock_id=uuid7(),
            event_id=uuid7(),
            actor_key_id=principal.key_id,
            actor=_actor(ctx),
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "uq_pledges_live_asset":
            raise
        match = _ASSET_IN_DETAIL.search(exc.detail or "")
        asset = match.group(1) if match else None
        raise IpAssetAlreadyPledged(
            f"IP asset {asset} already secures a live pledge", ip_asset_id=asset
        ) from None
    if row is None:
        raise await _submission_refusal(ctx, application_id, received, if_match)
    if row["state"] != "draft":
        # A resubmission: its earlier clocks and its pledges are read now.
        return views.application(
            _visible(ctx, await repository.get(ctx.db, application_id)), ctx.now
        )
    tier = row["tier"]
    deadline_date, deadline_at = deadlines[(3, 5, 10).index(tier)]
    clock = {
        "seq": row["seq"],
        "tier_working_days": tier,
        "received_at": received,
        "deadline_date": deadline_date,
        "deadline_at": deadline_at,
        "stopped_at": None,
        "stop_reason": None,
    }
    pledges = [
        {
            "id": pledge_id,
            "ip_asset_id": asset_id,
            "state": "proposed",
            "registration_no": None,
            "registered_on": None,
            "version": 1,
        }
        for pledge_id, asset_id in zip(row["new_pledge_ids"], row["new_pledge_assets"], strict=True)
    ]
    # A draft has no clock, pledge or quote before its first submission.
    return views.application(
        {
            **dict(row),
            "state": "submitted",
            "version": row["new_version"],
            "updated_at": ctx.now,
            "received_at": received,
            "tier_working_days": tier,
            "deadline_date": deadline_date,
            "deadline_at": deadline_at,
            "clocks": [clock],
            "pledges": pledges,
            "quote": None,
        },
        ctx.now,
    )


# --- moves by the credit officer and withdrawals ------------------------------------------


async def _move(
    ctx: Ctx,
    *,
    row: asyncpg.Record,
    action: str,
    from_states: tuple[str, ...],
    to_state: str,
    sets: dict[str, Any],
    stop_reason: str | None,
    cancel_proposed: bool = False,
    release_registered: bool = False,
) -> dict[str, Any]:
    """Move the application in one statement (with the audit entries and events queued so
    far), then read it back for the response."""
    application_id = row["id"]
    if row["state"] not in from_states:
        raise InvalidStateTransition(
            f"cannot {action} an application that is {row['state']}", state=row["state"]
        )
    folded_args: list[Any] = []
    folded = outbox.fold(ctx, folded_args, guard="app")
    done = await repository.stop_and_move(
        ctx.db,
        application_id=application_id,
        version=row["version"],
        from_states=from_states,
        to_state=to_state,
        now=ctx.now,
        today=ctx.today,
        sets=sets,
        stop_reason=stop_reason,
        cancel_proposed_pledges=cancel_proposed,
        release_registered_pledges=release_registered,
        folded=folded,
        folded_args=folded_args,
    )
    if not done:
        raise await _lost_race(ctx, application_id, action)
    updated = await repository.get(ctx.db, application_id)
    assert updated is not None
    return views.application(updated, ctx.now)


async def _load_for_change(ctx: Ctx, application_id: UUID) -> asyncpg.Record:
    row = _visible(ctx, await repository.get(ctx.db, application_id))
    check_if_match(ctx, row["version"])
    return row


async def start_review(ctx: Ctx, *, application_id: UUID) -> dict[str, Any]:
    row = await _load_for_change(ctx, application_id)
    _audit_move(ctx, row, "review_started", {"state": "under_review"})
    return await _move(
        ctx,
        row=row,
        action="review",
        from_states=("submitted",),
        to_state="under_review",
        sets={},
        stop_reason=None,
    )


async def return_for_information(ctx: Ctx, *, application_id: UUID, reason: str) -> dict[str, Any]:
    row = await _load_for_change(ctx, application_id)
    _audit_move(ctx, row, "returned", {"state": "awaiting_information", "reason": reason})
    return await _move(
        ctx,
        row=row,
        action="return",
        from_states=("submitted", "under_review"),
        to_state="awaiting_information",
        sets={"return_reason": reason},
        stop_reason="returned",
    )


async def withdraw(ctx: Ctx, *, application_id: UUID, reason: str) -> dict[str, Any]:
    row = await _load_for_change(ctx, application_id)
    running = row["state"] in sla.OPEN_STATES
    _audit_move(ctx, row, "withdrawn", {"state": "withdrawn", "reason": reason})
    _pledge_moves(ctx, row, cancel_proposed=True, release_registered=True, why="withdrawn")
    return await _move(
        ctx,
        row=row,
        action="withdraw",
        from_states=WITHDRAWABLE,
        to_state="withdrawn",
        sets={"withdraw_reason": reason},
        stop_reason="withdrawn" if running else None,
        cancel_proposed=True,
        release_registered=True,
    )


def _pledge_moves(
    ctx: Ctx, row: asyncpg.Record, *, cancel_proposed: bool, release_registered: bool, why: str
) -> None:
    """The audit entries and events for the pledges a move cancels or releases (the move's own
    statement changes them)."""
    reason = f"application {why}"
    for pledge in row["pledges"]:
        if cancel_proposed and pledge["state"] == "proposed":
            audit.record(
                ctx,
                action="pledge.cancelled",
                entity_type="pledge",
                entity_id=pledge["id"],
                before={"state": "proposed"},
                after={"state": "cancelled", "reason": reason},
            )
        elif release_registered and pledge["state"] == "registered":
            audit.record(
                ctx,
                action="pledge.released",
                entity_type="pledge",
                entity_id=pledge["id"],
                before={"state": "registered"},
                after={"state": "released", "released_on": ctx.today, "reason": reason},
            )
            outbox.emit(
                ctx,
                "pledge.released",
                {
                    "pledge_id": pledge["id"],
                    "application_id": row["id"],
                    "ip_asset_id": pledge["ip_asset_id"],
                    "released_on": ctx.today,
                    "reason": reason,
                },
                district_code=row["district_code"],
            )


def _decision_event(ctx: Ctx, row: asyncpg.Record) -> dict[str, Any]:
    return {
        "application_id": row["id"],
        "reference": row["reference"],
        "enterprise_id": row["enterprise_id"],
        "amount": row["amount"],
        "relationship_manager_id": row["relationship_manager_id"],
        "decided_at": ctx.now,
        "deadline_at": row["deadline_at"],
    }


async def decide(ctx: Ctx, *, application_id: UUID, body: DecisionBody) -> dict[str, Any]:
    row = await _load_for_change(ctx, application_id)
    if row["state"] != "under_review":
        raise InvalidStateTransition(
            f"cannot decide an application that is {row['state']}", state=row["state"]
        )
    decided = {
        "decided_at": ctx.now,
        "decided_by": ctx.principal.key_id,
        "decision_reason": body.reason,
    }
    if body.outcome == "declined":
        _audit_move(ctx, row, "declined", {"state": "declined", "reason": body.reason})
        # Registered pledges too: a declined application never becomes a loan, so nothing is
        # left for them to secure (SPEC 3.5), exactly as on withdrawal.
        _pledge_moves(ctx, row, cancel_proposed=True, release_registered=True, why="declined")
        outbox.emit(
            ctx,
            "application.declined",
            {**_decision_event(ctx, row), "reason": body.reason},
            district_code=row["district_code"],
        )
        return await _move(
            ctx,
            row=row,
            action="decide",
            from_states=("under_review",),
            to_state="declined",
            sets={**decided, "outcome": "declined"},
            stop_reason="decided",
            cancel_proposed=True,
            release_registered=True,
        )
    approved_amount: Decimal = body.approved_amount or row["amount"]
    if approved_amount > row["amount"]:
        raise ValidationFailed(
            "the approved amount may not exceed the requested amount",
            errors=[field_error(["body", "approved_amount"], f"more than {row['amount']:.2f}")],
        )
    quote = await pricing_service.quote_for_decision(
        ctx,
        application_id=application_id,
        quote_id=body.quote_id,
        spread_bp=body.spread_bp,
        approved_amount=approved_amount,
    )
    _audit_move(
        ctx,
        row,
        "approved",
        {
            "state": "approved",
            "approved_amount": approved_amount,
            "rate_bp": quote.rate_bp,
            "quote_id": quote.id,
            "reason": body.reason,
        },
    )
    outbox.emit(
        ctx,
        "application.approved",
        {
            **_decision_event(ctx, row),
            "approved_amount": approved_amount,
            "rate_bp": quote.rate_bp,
            "quote_id": quote.id,
            "term_months": row["term_months"],
        },
        district_code=row["district_code"],
    )
    return await _move(
        ctx,
        row=row,
        action="decide",
        from_states=("under_review",),
        to_state="approved",
        sets={
            **decided,
            "outcome": "approved",
            "approved_amount": approved_amount,
            "rate_bp": quote.rate_bp,
            "quote_id": quote.id,
        },
        stop_reason="decided",
    )
