"""Pricing: LPR fixings, and quotes priced by the engine from facts gathered in one statement.

Quoting is a hot path: one statement reads every fact (``repository.QUOTE_FACTS_SQL``), the
engine prices them, and one statement keeps the quote together with its audit event, so that
``POST …/quotes`` needs no transaction block. Inside a caller's transaction (the decision) the
same two statements simply join it.

For other domains: ``lpr_in_force`` (the fixing a rate rests on) and ``quote_for_decision``
(the quote a decision locks).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core import audit, outbox
from app.core.concurrency import named_versions
from app.core.context import Ctx
from app.core.db import Db
from app.core.errors import (
    ConcurrentUpdate,
    InvalidStateTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from app.core.ids import uuid7
from app.core.schemas import Page, decode_cursor, decode_int_cursor, encode_cursor, format_money
from app.models import application as application_model
from app.pricing import engine, repository
from app.pricing.errors import LprUnavailable
from app.pricing.schemas import LprFixingOut, QuoteOut

# Quotes are made while the application is being assessed; a decided, withdrawn or draft
# application has nothing to price. Plain text: the values are also a statement's parameter.
QUOTABLE_STATES = tuple(state.value for state in application_model.QUOTABLE_STATES)

# --- LPR fixings ------------------------------------------------------------------------------


async def lpr_in_force(db: Db, on: date) -> LprFixingOut | None:
    """The fixing in force on ``on``: the latest on or before it, or None."""
    row = await repository.lpr_in_force(db, on)
    return None if row is None else LprFixingOut.model_validate(dict(row))


def _check_if_match(ctx: Ctx, current: LprFixingOut | None) -> None:
    if ctx.if_match is None:
        return
    wanted = named_versions(ctx.if_match)  # None: ``*``, any fixing that exists
    if current is not None and (wanted is None or current.version in wanted):
        return
    if current is None:
        raise PreconditionFailed("there is no fixing for that date yet")
    raise PreconditionFailed(f"the fixing is at version {current.version}")


async def put_lpr(
    ctx: Ctx, *, fixing_date: date, one_year_bp: int, five_year_bp: int
) -> tuple[LprFixingOut, bool]:
    """Record (or correct) the fixing of ``fixing_date``; returns it and whether it is new.
    Fixings are announced on the day they take effect, so a date after today is a mistake
    (422). Re-sending the same figures changes nothing, not even the version."""
    if fixing_date > ctx.today:
        raise ValidationFailed(
            f"{fixing_date} is in the future; a fixing is recorded once announced",
            errors=[field_error(["path", "fixing_date"], f"after today ({ctx.today})")],
        )
    values = {"one_year_bp": one_year_bp, "five_year_bp": five_year_bp}
    for _attempt in range(2):
        row = await repository.lpr_for_update(ctx.db, fixing_date)
        before = None if row is None else LprFixingOut.model_validate(dict(row))
        _check_if_match(ctx, before)
        if before is None:
            created = await repository.insert_lpr(
                ctx.db, fixing_date=fixing_date, at=ctx.now, **values
            )
            if created is None:
                continue  # another request recorded this date first: replace its figures
            after = LprFixingOut.model_validate(dict(created))
            _audit_lpr(ctx, "lpr_fixing.created", None, after)
            return after, True
        if (before.one_year_bp, before.five_year_bp) == (one_year_bp, five_year_bp):
            return before, False
        updated = await repository.update_lpr(ctx.db, fixing_date=fixing_date, at=ctx.now, **values)
        after = LprFixingOut.model_validate(dict(updated))
        _audit_lpr(ctx, "lpr_fixing.replaced", before, after)
        return after, False
    raise ConcurrentUpdate("the fixing changed while it was being recorded; retry")


def _audit_lpr(ctx: Ctx, action: str, before: LprFixingOut | None, after: LprFixingOut) -> None:
    audit.record(
        ctx,
        action=action,
        entity_type="lpr_fixing",
        entity_id=after.fixing_date.isoformat(),
        before=None if before is None else before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "the cursor is not one this service gave out",
        errors=[field_error(["query", "cursor"], "unknown cursor")],
    )


async def list_lpr(
    ctx: Ctx, *, on: date | None, cursor: str | None, limit: int
) -> Page[LprFixingOut]:
    """Fixings newest first; with ``on``, only the one in force on that date (409 if none)."""
    if on is not None:
        fixing = await lpr_in_force(ctx.db, on)
        if fixing is None:
            raise LprUnavailable(f"no LPR fixing on or before {on}")
        return Page[LprFixingOut](items=[fixing], next_cursor=None)
    ordinal = decode_int_cursor(cursor)
    try:
        before = None if ordinal is None else date.fromordinal(ordinal)
    except (ValueError, OverflowError):
        raise _bad_cursor() from None
    rows = await repository.lpr_page(ctx.db, before=before, limit=limit + 1)
    items = [LprFixingOut.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].fixing_date.toordinal()) if len(rows) > limit else None
    return Page[LprFixingOut](items=items, next_cursor=next_cursor)


# --- Quotes -----------------------------------------------------------------------------------


def _facts(
    row: asyncpg.Record, *, quote_date: date, amount: Decimal, spread_bp: int
) -> engine.QuoteFacts:
    ids = row["asset_ids"] or []
    assets = tuple(
        engine.PledgedAsset(
            id=asset_id,
            kind=kind,
            number=number,
            valuation_value=value,
            valuation_date=valued_on,
            protection_expires_on=expires_on,
        )
        for asset_id, kind, number, expires_on, value, valued_on in zip(
            ids,
            row["asset_kinds"] or [],
            row["asset_numbers"] or [],
            row["asset_expiries"] or [],
            row["valuation_values"] or [],
            row["valuation_dates"] or [],
            strict=True,
        )
    )
    return engine.QuoteFacts(
        quote_date=quote_date,
        amount=amount,
        term_months=row["term_months"],
        maturity_date=engine.maturity_date(quote_date, row["term_months"]),
        lpr_bp=row["lpr_bp"],
        lpr_date=row["lpr_date"],
        spread_bp=spread_bp,
        industry=row["industry"],
        district_code=row["district_code"],
        risk_compensation_program_id=row["risk_compensation_program_id"],
        assets=assets,
    )


async def _price_and_keep(
    ctx: Ctx,
    *,
    application_id: UUID,
    quote_date: date,
    spread_bp: int | None,
    amount: Decimal | None,
    amount_field: list[str | int],
    check_state: bool,
) -> QuoteOut:
    row = await repository.quote_facts(ctx.db, application_id=application_id, on=quote_date)
    if row is None:
        raise NotFound("no such application")
    if check_state and row["state"] not in QUOTABLE_STATES:
        raise InvalidStateTransition(
            f"an application in state {row['state']} cannot be quoted; quotes are made while "
            "it is submitted, under review or awaiting information",
            state=row["state"],
        )
    requested: Decimal = row["amount"]
    if amount is None:
        amount = requested
    elif amount > requested:
        raise ValidationFailed(
            f"{format_money(amount)} is more than the requested {format_money(requested)}",
            errors=[field_error(amount_field, "more than the requested amount")],
        )
    if row["lpr_date"] is None:
        raise LprUnavailable(f"no LPR fixing on or before {quote_date}")
    spread = ctx.settings.default_spread_bp if spread_bp is None else spread_bp
    facts = _facts(row, quote_date=quote_date, amount=amount, spread_bp=spread)
    priced = engine.price(facts)
    columns: dict[str, Any] = {
        "id": uuid7(),
        "application_id": application_id,
        "quote_date": quote_date,
        "amount": amount,
        "term_months": facts.term_months,
        "lpr_bp": priced.lpr_bp,
        "lpr_date": priced.lpr_date,
        "spread_bp": priced.spread_bp,
        "components": [c.as_json() for c in priced.components],
        "discount_uncapped_bp": priced.discount_uncapped_bp,
        "discount_bp": priced.discount_bp,
        "rate_bp": priced.rate_bp,
    }
    quote = QuoteOut(**columns, created_at=ctx.now)
    kept = await repository.insert_quote(
        ctx.db,
        quote=columns,
        created_by=outbox.actor(ctx),
        audit_after=_quote_summary(quote),
        only_in_states=QUOTABLE_STATES if check_state else None,
    )
    if not kept:
        raise InvalidStateTransition("the application changed state while it was being quoted")
    return quote


def _quote_summary(quote: QuoteOut) -> dict[str, Any]:
    # Quotes are never changed, so the trail needs the price and what earned it, not a second
    # copy of every fact (those stay on the quote itself).
    summary = quote.model_dump(mode="json", exclude={"components"})
    summary["components"] = {c.code: c.bp for c in quote.components}
    return summary


async def create_quote(
    ctx: Ctx,
    *,
    application_id: UUID,
    spread_bp: int | None,
    quote_date: date | None,
    amount: Decimal | None,
) -> QuoteOut:
    """Price the application (or ``amount`` of it) on ``quote_date`` and keep the quote."""
    if quote_date is None:
        quote_date = ctx.today
    elif quote_date > ctx.today:
        raise ValidationFailed(
            f"{quote_date} is in the future; a quote rests on facts known today",
            errors=[field_error(["body", "quote_date"], f"after today ({ctx.today})")],
        )
    return await _price_and_keep(
        ctx,
        application_id=application_id,
        quote_date=quote_date,
        spread_bp=spread_bp,
        amount=amount,
        amount_field=["body", "amount"],
        check_state=True,
    )


async def quote_for_decision(
    ctx: Ctx,
    *,
    application_id: UUID,
    quote_id: UUID | None,
    spread_bp: int | None,
    approved_amount: Decimal,
) -> QuoteOut:
    """The quote an approval locks. With ``quote_id``: that quote of this application (404
    otherwise), which must have priced exactly ``approved_amount`` (422 on ``quote_id``) and,
    if ``spread_bp`` is also given, that spread (422 on ``spread_bp``). Without: a fresh quote
    of ``approved_amount`` as of today at ``spread_bp`` (or the default), kept and audited like
    any other (its audit event is written with it, in the caller's transaction). The
    application's state is the decision's to check, not this function's."""
    if approved_amount <= 0:
        raise ValidationFailed(
            "the approved amount must be more than 0.00",
            errors=[field_error(["body", "approved_amount"], "must be more than 0.00")],
        )
    if quote_id is None:
        fresh = await _price_and_keep(
            ctx,
            application_id=application_id,
            quote_date=ctx.today,
            spread_bp=spread_bp,
            amount=approved_amount,
            amount_field=["body", "approved_amount"],
            check_state=False,
        )
        _check_lendable(fresh, field="spread_bp")
        return fresh
    row = await repository.quote(ctx.db, application_id=application_id, quote_id=quote_id)
    if row is None:
        raise NotFound("no such quote for this application")
    quote = QuoteOut.model_validate(dict(row))
    if quote.amount != approved_amount:
        raise ValidationFailed(
            f"quote {quote_id} priced {format_money(quote.amount)}, not the approved amount "
            f"{format_money(approved_amount)}; quote the approved amount, or omit quote_id "
            "to have it priced now",
            errors=[field_error(["body", "quote_id"], "the quote was for another amount")],
        )
    if spread_bp is not None and spread_bp != quote.spread_bp:
        raise ValidationFailed(
            f"quote {quote_id} has a spread of {quote.spread_bp} bp, not {spread_bp}; send "
            "quote_id or spread_bp",
            errors=[field_error(["body", "spread_bp"], "differs from the named quote's spread")],
        )
    _check_lendable(quote, field="quote_id")
    await _check_pledges_still_live(ctx, quote)
    return quote


def _check_lendable(quote: QuoteOut, *, field: str) -> None:
    """An approval locks its quote's rate as the loan's, and a loan's rate is never below 0:
    with an LPR under the 20 bp the discount may take, a small spread would price one so."""
    if quote.rate_bp < 0:
        raise ValidationFailed(
            f"the quote's rate is {quote.rate_bp} bp (LPR {quote.lpr_bp} + spread "
            f"{quote.spread_bp} - discount {quote.discount_bp}): a loan's rate may not be below "
            "0; approve with a larger spread_bp",
            errors=[field_error(["body", field], "prices a rate below 0")],
        )


def _priced_assets(quote: QuoteOut) -> set[UUID]:
    """The pledged assets a quote was priced on (counted towards coverage or not)."""
    assets: set[UUID] = set()
    for component in quote.components:
        if component.code == "pledge_coverage":
            for listed in (*component.facts["counted"], *component.facts["not_counted"]):
                assets.add(UUID(listed["ip_asset_id"]))
    return assets


async def _check_pledges_still_live(ctx: Ctx, quote: QuoteOut) -> None:
    """A decision counts only the pledges live when it is taken: a quote priced on a pledge
    released (or cancelled) since cannot be locked (422 on ``quote_id``)."""
    priced = _priced_assets(quote)
    if not priced:
        return
    gone = priced - await repository.live_pledged_assets(
        ctx.db, application_id=quote.application_id
    )
    if gone:
        named = ", ".join(sorted(str(a) for a in gone))
        raise ValidationFailed(
            f"quote {quote.id} was priced on pledges no longer live (IP assets {named}); omit "
            "quote_id to have the application priced on its live pledges now",
            errors=[field_error(["body", "quote_id"], "priced on a pledge no longer live")],
        )


async def list_quotes(
    ctx: Ctx, *, application_id: UUID, cursor: str | None, limit: int
) -> Page[QuoteOut]:
    rows = await repository.quotes_page(
        ctx.db, application_id=application_id, before=decode_cursor(cursor), limit=limit + 1
    )
    if rows is None:
        raise NotFound("no such application")
    items = [QuoteOut.model_validate(dict(r)) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    return Page[QuoteOut](items=items, next_cursor=next_cursor)
