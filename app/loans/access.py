"""Checks every loan operation makes: may the caller see the loan, is a value date allowed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg

from app.core.context import Ctx
from app.core.errors import NotFound, ValidationFailed, field_error


def visible(ctx: Ctx, row: asyncpg.Record | None) -> asyncpg.Record:
    """The loan, or 404 when it does not exist or is another relationship manager's."""
    if row is None or not ctx.principal.owns_rm(row["relationship_manager_id"]):
        raise NotFound("no such loan")
    return row


def earliest_value_date(row: Mapping[str, Any]) -> tuple[date, str]:
    """The earliest value date a repayment or a default of the loan may carry, and what it is:
    the disbursement, or the latest repayment already posted (postings apply in value-date
    order, and a default dated before a repayment would leave the defaulted loan with a
    repayment after its default)."""
    if row["last_paid_on"] is not None and row["last_paid_on"] > row["disbursed_on"]:
        return row["last_paid_on"], "the latest repayment already posted"
    return row["disbursed_on"], "the disbursement"


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
