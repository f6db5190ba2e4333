"""Pledges from CNIPA registration to release or enforcement.

proposed → registered (CNIPA registration number and date) → released (loan paid off, the
application declined or withdrawn, or a release by a credit officer — only while no loan
depends on it — or an admin) | enforced (loan in default); proposed → cancelled when the
application is declined or withdrawn (``app.applications``). Loans release and enforce
through ``release_for_loan`` and ``enforce_for_loan``.

A registration is a change of its application too (decision 0017): its statement takes the
application's guard, a CTE the applications domain writes (it owns the table) and hands to this
one through ``guard_registrations_with``, connected by ``app.main.connect_domains``. The
dependency runs one way: applications know pledges, pledges do not know applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from app.core import audit, journal, outbox
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import InvalidStateTransition, NotFound, ValidationFailed, field_error
from app.core.roles import Role
from app.core.schemas import Page, decode_cursor, paged
from app.core.sql import Filters
from app.models.application import ApplicationState
from app.models.loan import LoanState
from app.models.pledge import PledgeState
from app.pledges import repository
from app.pledges.schemas import PledgeOut

# A pledge can be registered while its application is alive and not yet a loan.
REGISTRABLE_WITH = (
    ApplicationState.SUBMITTED,
    ApplicationState.UNDER_REVIEW,
    ApplicationState.AWAITING_INFORMATION,
    ApplicationState.APPROVED,
)


class ApplicationGuard(Protocol):
    """The CTE ``app`` a move of a pledge takes on its application: the application (that of
    the pledge ``pledge_id``) must be in one of ``states``, and its version moves with the
    pledge. ``pledge_id`` and ``now`` are placeholders of ``params``; the CTE returns the
    application's ``id``."""

    def __call__(
        self,
        params: journal.Params,
        *,
        pledge_id: str,
        now: str,
        states: Sequence[ApplicationState],
    ) -> str: ...


_application_guard: ApplicationGuard | None = None


def guard_registrations_with(guard: ApplicationGuard) -> ApplicationGuard:
    """Set the guard a registration takes on its application (``app.main.connect_domains``
    sets ``app.applications.moves.pledge_move_guard``)."""
    global _application_guard
    _application_guard = guard
    return guard


def _guard(params: journal.Params, *, pledge_id: str, now: str) -> str:
    if _application_guard is None:
        # Never register without it: a decline or withdrawal could then overlook the pledge.
        raise RuntimeError(
            "no application guard for pledge registrations: app.main.connect_domains sets it"
        )
    return _application_guard(params, pledge_id=pledge_id, now=now, states=REGISTRABLE_WITH)


def _visible(ctx: Ctx, row: asyncpg.Record | None) -> asyncpg.Record:
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound("no such pledge")
    return row


def _out(row: asyncpg.Record | dict[str, Any]) -> PledgeOut:
    return PledgeOut.model_validate(dict(row))


def _event(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {
        "pledge_id": row["id"],
        "application_id": row["application_id"],
        "ip_asset_id": row["ip_asset_id"],
        "state": row["state"],
        "registration_no": row["registration_no"],
        "registered_on": row["registered_on"],
        "released_on": row["released_on"],
        "enforced_on": row["enforced_on"],
        "reason": row["state_reason"],
    }


async def get_pledge(ctx: Ctx, *, pledge_id: UUID) -> PledgeOut:
    return _out(_visible(ctx, await repository.get(ctx.db, pledge_id)))


async def list_pledges(
    ctx: Ctx,
    *,
    ip_asset_id: UUID | None,
    application_id: UUID | None,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> Page[PledgeOut]:
    filters = Filters()
    if ctx.principal.role is Role.RELATIONSHIP_MANAGER:
        filters.add("a.relationship_manager_id = {}", ctx.principal.subject)
    filters.when(ip_asset_id, "p.ip_asset_id = {}")
    filters.when(application_id, "p.application_id = {}")
    filters.when(state, "p.state = {}")
    filters.when(decode_cursor(cursor), "p.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return paged(rows, limit, _out)


async def _move(
    ctx: Ctx,
    row: asyncpg.Record,
    *,
    action: str,
    to_state: PledgeState,
    sets: dict[str, Any],
    guard_application: bool = False,
) -> PledgeOut:
    """One statement: the move, its audit entry and its event. With ``guard_application`` the
    move counts as a change of its application too (the guard set by
    ``guard_registrations_with``)."""
    after = {"state": to_state, **sets}
    entry = journal.AuditEntry(
        action=f"pledge.{action}",
        entity_type="pledge",
        entity_id=str(row["id"]),
        before={"state": row["state"]},
        after=after,
    )
    event = journal.Event(
        type=f"pledge.{action}",
        data=_event({**dict(row), **after}),
        district_code=row["district_code"],
    )
    params = journal.Params()
    pledge_id, now = params.add(row["id"]), params.add(ctx.now)
    guard = _guard(params, pledge_id=pledge_id, now=now) if guard_application else None
    moved = await repository.move(
        ctx.db,
        params=params,
        pledge_id=pledge_id,
        version=params.add(row["version"]),
        from_state=params.add(row["state"]),
        to_state=params.add(to_state),
        now=now,
        sets=sets,
        guard=guard,
        journal_ctes=journal.render(
            params, outbox.actor(ctx), [entry], [event], source="moved", name="move"
        ),
    )
    if moved is None:
        raise InvalidStateTransition(
            "the pledge or its application changed meanwhile; read it again"
        )
    return _out(moved)


def _value_date(ctx: Ctx, value: date, field: str) -> date:
    if value > ctx.today:
        raise ValidationFailed(
            f"{field} may not be in the future",
            errors=[field_error(["body", field], "in the future")],
        )
    return value


async def register(
    ctx: Ctx, *, pledge_id: UUID, registration_no: str, registered_on: date
) -> PledgeOut:
    row = _visible(ctx, await repository.get(ctx.db, pledge_id))
    check_if_match(ctx, row["version"])
    if row["state"] != PledgeState.PROPOSED:
        raise InvalidStateTransition(
            f"cannot register a pledge that is {row['state']}", state=row["state"]
        )
    if row["application_state"] not in REGISTRABLE_WITH:
        raise InvalidStateTransition(
            f"cannot register a pledge of an application that is {row['application_state']}",
            state=row["state"],
        )
    _value_date(ctx, registered_on, "registered_on")
    return await _move(
        ctx,
        row,
        action="registered",
        to_state=PledgeState.REGISTERED,
        sets={"registration_no": registration_no, "registered_on": registered_on},
        # A registration racing a decline or withdrawal: whichever commits second fails.
        guard_application=True,
    )


def _secures_a_live_loan(row: asyncpg.Record) -> bool:
    """Approved (a loan is coming) or disbursed with a loan not yet paid off."""
    return bool(
        row["application_state"] == ApplicationState.APPROVED
        or (
            row["application_state"] == ApplicationState.DISBURSED
            and row["loan_state"] != LoanState.PAID_OFF
        )
    )


async def release(ctx: Ctx, *, pledge_id: UUID, reason: str) -> PledgeOut:
    """Release a registered pledge. While it secures an approved application or a loan that is
    not paid off, only an admin may (SPEC 3.5: released when the loan is paid off, or by an
    admin); the audit entry names who did. The application is held (see
    ``repository.get``) until the release commits, so no approval or disbursement slips in
    between the check and the release."""
    row = _visible(ctx, await repository.get(ctx.db, pledge_id, lock_application=True))
    check_if_match(ctx, row["version"])
    if row["state"] != PledgeState.REGISTERED:
        raise InvalidStateTransition(
            f"cannot release a pledge that is {row['state']}", state=row["state"]
        )
    if not ctx.principal.is_admin and _secures_a_live_loan(row):
        what = (
            "an approved application"
            if row["application_state"] == ApplicationState.APPROVED
            else f"a loan that is {row['loan_state'] or 'not paid off'}"
        )
        raise InvalidStateTransition(
            f"the pledge secures {what}: it is released when the loan is paid off, or by an admin",
            state=row["state"],
            application_state=row["application_state"],
        )
    return await _move(
        ctx,
        row,
        action="released",
        to_state=PledgeState.RELEASED,
        sets={"released_on": ctx.today, "state_reason": reason},
    )


async def _end_for_loan(
    ctx: Ctx,
    *,
    application_id: UUID,
    to_state: PledgeState,
    on: date,
    district_code: str,
    reason: str,
) -> int:
    rows = await repository.end_for_loan(
        ctx.db, application_id=application_id, to_state=to_state, now=ctx.now, on=on, reason=reason
    )
    for row in rows:
        audit.record(
            ctx,
            action=f"pledge.{to_state}",
            entity_type="pledge",
            entity_id=row["id"],
            before={"state": PledgeState.REGISTERED},
            after=_event(row),
        )
        outbox.emit(ctx, f"pledge.{to_state}", _event(row), district_code=district_code)
    return len(rows)


async def release_for_loan(
    ctx: Ctx, *, application_id: UUID, on: date, district_code: str, reason: str
) -> int:
    return await _end_for_loan(
        ctx,
        application_id=application_id,
        to_state=PledgeState.RELEASED,
        on=on,
        district_code=district_code,
        reason=reason,
    )


async def enforce_for_loan(
    ctx: Ctx, *, application_id: UUID, on: date, district_code: str, reason: str
) -> int:
    return await _end_for_loan(
        ctx,
        application_id=application_id,
        to_state=PledgeState.ENFORCED,
        on=on,
        district_code=district_code,
        reason=reason,
    )
