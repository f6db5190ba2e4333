"""Rules every move of an application shares: who may see it, which relationship manager an
intake belongs to, when complete materials may be said to have arrived, and a clock's deadline.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from app.applications import repository, sla
from app.calendar.errors import CalendarYearUnpublished
from app.calendar.index import CalendarIndex
from app.core import audit
from app.core.clock import business_date
from app.core.concurrency import check_if_match
from app.core.context import Ctx
from app.core.errors import NotFound, ValidationFailed, field_error
from app.core.roles import RM_ID, Role

Row = Any  # a row of ``repository.get``: the application with its clocks and pledges


def visible(ctx: Ctx, row: Row | None) -> Row:
    """The row, if the caller may see it; else 404 as if it did not exist."""
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound("no such application")
    return row


async def load_for_change(ctx: Ctx, application_id: UUID) -> Row:
    row = visible(ctx, await repository.get(ctx.db, application_id))
    check_if_match(ctx, row["version"])
    return row


def relationship_manager(ctx: Ctx, named: str | None) -> str:
    """Whose application an intake is: a relationship manager's own; a bank system names one."""
    principal = ctx.principal
    loc: list[str | int] = ["body", "relationship_manager_id"]
    if principal.role is Role.RELATIONSHIP_MANAGER and principal.subject is not None:
        if named is not None and named != principal.subject:
            raise ValidationFailed(
                "a relationship manager creates applications for themselves only",
                errors=[field_error(loc, "must be your own id")],
            )
        return principal.subject
    if named is None:
        raise ValidationFailed(
            "name the relationship manager the application belongs to",
            errors=[field_error(loc, "required for bank systems")],
        )
    if not RM_ID.fullmatch(named):
        raise ValidationFailed(
            "a relationship manager id is 1 to 64 letters, digits, dots, dashes or underscores",
            errors=[field_error(loc, "malformed")],
        )
    return named


def received_at(ctx: Ctx, requested: datetime | None) -> datetime:
    """When complete materials arrived: now, or up to ``max_backdate_days`` before."""
    if requested is None:
        return ctx.now
    loc: list[str | int] = ["body", "received_at"]
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
    index: CalendarIndex, received: datetime, tier: int
) -> tuple[date | None, datetime | None]:
    """A clock's deadline, or (None, None) while it falls in an unpublished year."""
    try:
        deadline_date = index.add_working_days(business_date(received), tier)
    except CalendarYearUnpublished:
        return None, None
    return deadline_date, sla.deadline_instant(deadline_date)


def audit_move(ctx: Ctx, row: Row, action: str, after: dict[str, Any]) -> None:
    audit.record(
        ctx,
        action=f"application.{action}",
        entity_type="application",
        entity_id=row["id"],
        before={"state": row["state"]},
        after=after,
    )
