"""Checks every loan operation makes: may the caller see the loan, is a value date allowed."""

from __future__ import annotations

from datetime import date

import asyncpg

from app.core.context import Ctx
from app.core.errors import NotFound, ValidationFailed, field_error


def visible(ctx: Ctx, row: asyncpg.Record | None) -> asyncpg.Record:
    """The loan, or 404 when it does not exist or is another relationship manager's."""
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound("no such loan")
    return row


def value_date(
    ctx: Ctx,
    value: date,
    field: str,
    *,
    not_before: date | None = None,
    what: str = "",
    where: str = "body",
    future: bool = False,
) -> date:
    """A value date: not in the future (unless ``future``: a read that projects), and not
    before ``not_before``."""
    loc: list[str | int] = [where, field]
    if value > ctx.today and not future:
        raise ValidationFailed(
            f"{field} may not be in the future", errors=[field_error(loc, "in the future")]
        )
    if not_before is not None and value < not_before:
        raise ValidationFailed(
            f"{field} may not be before {what} ({not_before})",
            errors=[field_error(loc, f"before {what}")],
        )
    return value
