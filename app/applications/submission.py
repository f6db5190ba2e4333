"""Submission: complete materials start the approval clock, and every named asset gets a
proposed pledge. A resubmission after a return for information starts a new clock in full."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.applications import repository, rules, sla
from app.applications.domain import Application
from app.applications.errors import IpAssetAlreadyPledged
from app.applications.states import SUBMITTABLE, ApplicationState
from app.calendar import service as calendar_service
from app.core import outbox
from app.core.concurrency import if_match_versions
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
from app.core.roles import Role
from app.models.pledge import PledgeState

_ASSET_IN_DETAIL = re.compile(r"\(ip_asset_id\)=\(([0-9a-f-]{36})\)")


def _refusal(row: Any, received: datetime, if_match: list[int] | None) -> Exception:
    """Why the guarded statement wrote nothing, from the application as it read it."""
    if if_match is not None and row["version"] not in if_match:
        return PreconditionFailed(
            f"the resource is at version {row['version']}; read it again",
            current_version=row["version"],
        )
    if row["state"] not in SUBMITTABLE:
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


def _already_pledged(exc: asyncpg.UniqueViolationError) -> IpAssetAlreadyPledged:
    match = _ASSET_IN_DETAIL.search(exc.detail or "")
    asset = match.group(1) if match else None
    return IpAssetAlreadyPledged(
        f"IP asset {asset} already secures a live pledge", ip_asset_id=asset
    )


def _first_submission(
    row: Any, received: datetime, deadlines: Any, now: datetime
) -> dict[str, Any]:
    """The application as the statement left it: its one clock and its proposed pledges."""
    tier = row["tier"]
    deadline_date, deadline_at = deadlines[sla.TIER_DAYS.index(tier)]
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
            "state": PledgeState.PROPOSED,
            "registration_no": None,
            "registered_on": None,
            "version": 1,
        }
        for pledge_id, asset_id in zip(row["new_pledge_ids"], row["new_pledge_assets"], strict=True)
    ]
    return {
        **dict(row),
        "state": ApplicationState.SUBMITTED,
        "version": row["new_version"],
        "updated_at": now,
        "received_at": received,
        "tier_working_days": tier,
        "deadline_date": deadline_date,
        "deadline_at": deadline_at,
        "clocks": [clock],
        "pledges": pledges,
        "quote": None,
    }


async def submit_application(
    ctx: Ctx, *, application_id: UUID, received_at: datetime | None
) -> Application:
    """One statement (see ``repository.submit``); the reasons for a refusal are read only
    then. The deadline of every tier is worked out beforehand: the statement keeps the one
    the amount falls in. A first submission is answered from what the statement wrote; a
    resubmission, which has earlier clocks and pledges, is read back afterwards."""
    received = rules.received_at(ctx, received_at)
    if_match = if_match_versions(ctx)
    index = await calendar_service.get_index(ctx.db)
    deadlines = tuple(rules.deadline(index, received, tier) for tier in sla.TIER_DAYS)
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
            actor=outbox.actor(ctx),
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "uq_pledges_live_asset":
            raise
        raise _already_pledged(exc) from None
    if row is None:
        raise NotFound("no such application")
    if row["new_version"] is None:
        raise _refusal(row, received, if_match)
    if row["state"] != ApplicationState.DRAFT:
        # A resubmission: its earlier clocks and its pledges are read now.
        return Application.of(rules.visible(ctx, await repository.get(ctx.db, application_id)))
    return Application.of(_first_submission(row, received, deadlines, ctx.now))
