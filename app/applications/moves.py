"""Moves of an application after submission: review, return for information, withdrawal,
and the one statement every move (decisions included) is made by.

Every move that stops a clock after its deadline announces the breach the sweep has not
(SPEC 3.3: every clock that passes its deadline undecided gets its ``sla_breached``), since
the sweep never looks at a stopped clock: a return for information or a withdrawal as much
as a decision."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.applications import repository, rules
from app.applications.domain import Application
from app.applications.rules import Row
from app.applications.states import OPEN, RETURNABLE, WITHDRAWABLE, ApplicationState
from app.core import audit, outbox
from app.core.context import Ctx
from app.core.errors import InvalidStateTransition
from app.models.pledge import PledgeState

S = ApplicationState

# The moves of an application that other domains make in statements of their own, composing
# these CTEs (decision 0202): the disbursement, by the statement that creates the loan
# (``app.loans.service``), and the guard a pledge's registration takes (decision 0017), handed
# to the pledges domain by ``app.main.connect_domains``, as pledges do not import applications.
disbursement_move = repository.disbursement_move
pledge_move_guard = repository.pledge_move_guard


def refuse_unless(row: Row, states: tuple[ApplicationState, ...], action: str) -> None:
    if row["state"] not in states:
        raise InvalidStateTransition(
            f"cannot {action} an application that is {row['state']}", state=row["state"]
        )


async def _lost_race(ctx: Ctx, application_id: UUID, action: str) -> InvalidStateTransition:
    current = await repository.state_of(ctx.db, application_id)
    state = current["state"] if current else "gone"
    return InvalidStateTransition(f"cannot {action} an application that is {state}", state=state)


async def move(
    ctx: Ctx,
    *,
    row: Row,
    action: str,
    from_states: tuple[ApplicationState, ...],
    to_state: ApplicationState,
    sets: dict[str, Any],
    stop_reason: str | None,
    end_pledges: bool = False,
    report_breach: bool = False,
) -> Application:
    """Move the application in one statement, with the audit entries and events queued so
    far, then read it back for the response."""
    refuse_unless(row, from_states, action)
    queued_audit, queued_events = outbox.take(ctx)
    done = await repository.stop_and_move(
        ctx.db,
        application_id=row["id"],
        version=row["version"],
        from_states=from_states,
        to_state=to_state,
        now=ctx.now,
        today=ctx.today,
        sets=sets,
        stop_reason=stop_reason,
        end_pledges=end_pledges,
        report_breach=report_breach,
        prior_state=row["state"],
        actor=outbox.actor(ctx),
        audit=queued_audit,
        events=queued_events,
    )
    if not done:
        raise await _lost_race(ctx, row["id"], action)
    return Application.of(rules.visible(ctx, await repository.get(ctx.db, row["id"])))


def end_pledges(ctx: Ctx, row: Row, *, why: str) -> None:
    """The audit entries and events of the pledges an ending application cancels (proposed)
    or releases (registered); the move's own statement changes them."""
    reason = f"application {why}"
    for pledge in row["pledges"]:
        if pledge["state"] == PledgeState.PROPOSED:
            audit.record(
                ctx,
                action="pledge.cancelled",
                entity_type="pledge",
                entity_id=pledge["id"],
                before={"state": PledgeState.PROPOSED},
                after={"state": PledgeState.CANCELLED, "reason": reason},
            )
        elif pledge["state"] == PledgeState.REGISTERED:
            released = {"released_on": ctx.today, "reason": reason}
            audit.record(
                ctx,
                action="pledge.released",
                entity_type="pledge",
                entity_id=pledge["id"],
                before={"state": PledgeState.REGISTERED},
                after={"state": PledgeState.RELEASED, **released},
            )
            outbox.emit(
                ctx,
                "pledge.released",
                {
                    "pledge_id": pledge["id"],
                    "application_id": row["id"],
                    "ip_asset_id": pledge["ip_asset_id"],
                    **released,
                },
                district_code=row["district_code"],
            )


async def start_review(ctx: Ctx, *, application_id: UUID) -> Application:
    row = await rules.load_for_change(ctx, application_id)
    rules.audit_move(ctx, row, "review_started", {"state": S.UNDER_REVIEW})
    return await move(
        ctx,
        row=row,
        action="review",
        from_states=(S.SUBMITTED,),
        to_state=S.UNDER_REVIEW,
        sets={},
        stop_reason=None,
    )


async def return_for_information(ctx: Ctx, *, application_id: UUID, reason: str) -> Application:
    row = await rules.load_for_change(ctx, application_id)
    rules.audit_move(ctx, row, "returned", {"state": S.AWAITING_INFORMATION, "reason": reason})
    return await move(
        ctx,
        row=row,
        action="return",
        from_states=RETURNABLE,
        to_state=S.AWAITING_INFORMATION,
        sets={"return_reason": reason},
        stop_reason="returned",
        report_breach=True,
    )


async def withdraw(ctx: Ctx, *, application_id: UUID, reason: str) -> Application:
    row = await rules.load_for_change(ctx, application_id)
    refuse_unless(row, WITHDRAWABLE, "withdraw")
    rules.audit_move(ctx, row, S.WITHDRAWN, {"state": S.WITHDRAWN, "reason": reason})
    end_pledges(ctx, row, why=S.WITHDRAWN)
    return await move(
        ctx,
        row=row,
        action="withdraw",
        from_states=WITHDRAWABLE,
        to_state=S.WITHDRAWN,
        sets={"withdraw_reason": reason},
        stop_reason="withdrawn" if row["state"] in OPEN else None,
        end_pledges=True,
        report_breach=True,
    )
