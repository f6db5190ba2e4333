"""The credit decision: approve at a locked rate, or decline with a reason. Either stops the
clock; a clock stopped after its deadline is announced as breached by the decision, unless the
sweep already did (SPEC 3.3: once, by whichever comes first)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from app.applications import rules
from app.applications.domain import Application
from app.applications.moves import end_pledges, move, refuse_unless
from app.applications.rules import Row
from app.applications.schemas import DecisionBody
from app.applications.states import ApplicationState
from app.core import outbox
from app.core.context import Ctx
from app.core.errors import ValidationFailed, field_error
from app.pricing import service as pricing_service

S = ApplicationState
_DECIDABLE = (S.UNDER_REVIEW,)


def _event(ctx: Ctx, row: Row) -> dict[str, Any]:
    return {
        "application_id": row["id"],
        "reference": row["reference"],
        "enterprise_id": row["enterprise_id"],
        "amount": row["amount"],
        "relationship_manager_id": row["relationship_manager_id"],
        "decided_at": ctx.now,
        "deadline_at": row["deadline_at"],
    }


def _decided(ctx: Ctx, reason: str | None) -> dict[str, Any]:
    return {"decided_at": ctx.now, "decided_by": ctx.principal.key_id, "decision_reason": reason}


async def _decline(ctx: Ctx, row: Row, reason: str | None) -> Application:
    rules.audit_move(ctx, row, S.DECLINED, {"state": S.DECLINED, "reason": reason})
    # Registered pledges too: a declined application never becomes a loan, so nothing is
    # left for them to secure (SPEC 3.5), exactly as on withdrawal.
    end_pledges(ctx, row, why=S.DECLINED)
    outbox.emit(
        ctx,
        "application.declined",
        {**_event(ctx, row), "reason": reason},
        district_code=row["district_code"],
    )
    return await move(
        ctx,
        row=row,
        action="decide",
        from_states=_DECIDABLE,
        to_state=S.DECLINED,
        sets={**_decided(ctx, reason), "outcome": S.DECLINED},
        stop_reason="decided",
        end_pledges=True,
        report_breach=True,
    )


def _approved_amount(row: Row, asked: Decimal | None) -> Decimal:
    amount: Decimal = asked or row["amount"]
    if amount > row["amount"]:
        raise ValidationFailed(
            "the approved amount may not exceed the requested amount",
            errors=[field_error(["body", "approved_amount"], f"more than {row['amount']:.2f}")],
        )
    return amount


async def _approve(ctx: Ctx, row: Row, body: DecisionBody) -> Application:
    amount = _approved_amount(row, body.approved_amount)
    quote = await pricing_service.quote_for_decision(
        ctx,
        application_id=row["id"],
        quote_id=body.quote_id,
        spread_bp=body.spread_bp,
        approved_amount=amount,
    )
    terms = {"approved_amount": amount, "rate_bp": quote.rate_bp, "quote_id": quote.id}
    rules.audit_move(ctx, row, S.APPROVED, {"state": S.APPROVED, **terms, "reason": body.reason})
    outbox.emit(
        ctx,
        "application.approved",
        {**_event(ctx, row), **terms, "term_months": row["term_months"]},
        district_code=row["district_code"],
    )
    return await move(
        ctx,
        row=row,
        action="decide",
        from_states=_DECIDABLE,
        to_state=S.APPROVED,
        sets={**_decided(ctx, body.reason), "outcome": S.APPROVED, **terms},
        stop_reason="decided",
        report_breach=True,
    )


async def decide(ctx: Ctx, *, application_id: UUID, body: DecisionBody) -> Application:
    row = await rules.load_for_change(ctx, application_id)
    refuse_unless(row, _DECIDABLE, "decide")
    if body.outcome == S.DECLINED.value:
        return await _decline(ctx, row, body.reason)
    return await _approve(ctx, row, body)
