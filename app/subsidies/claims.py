"""Creating claims when loans pay interest or default.

The budget invariant — a programme's pending, approved and paid claims never add up to more
than its budget — holds under any concurrency: a claim is computed and written while its
programme's row is locked, against the programme's running ``committed`` total (which the
database also checks against the budget).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.core import audit, outbox
from app.core.context import Ctx
from app.core.ids import uuid7
from app.models.subsidy_claim import ClaimState
from app.subsidies import repository
from app.subsidies.arithmetic import ClaimAmount, Room, claim_amount


def claim_event(claim: dict[str, Any]) -> dict[str, Any]:
    return {
        "claim_id": claim["id"],
        "program_id": claim["program_id"],
        "loan_id": claim["loan_id"],
        "enterprise_id": claim["enterprise_id"],
        "kind": claim["kind"],
        "basis_amount": claim["basis_amount"],
        "amount": claim["amount"],
        "limited_by": claim["limited_by"],
        "state": claim["state"],
    }


async def _claim(
    ctx: Ctx,
    *,
    kind: str,
    loan: Any,
    basis_date: date,
    basis: Decimal,
    repayment_id: UUID | None,
) -> list[UUID]:
    programs = await repository.lock_applicable_programs(
        ctx.db,
        district_code=loan["district_code"],
        kind=kind,
        on=basis_date,
        industry=loan["industry"],
    )
    if not programs:
        return []
    used = await repository.claimed(
        ctx.db,
        program_ids=[p["id"] for p in programs],
        loan_id=loan["id"],
        enterprise_id=loan["enterprise_id"],
        year=basis_date.year,
    )
    created = []
    for program in programs:
        room = _room(program, used)
        result = claim_amount(basis, program["share"], room)
        if result.amount <= 0:
            # Nothing left of the budget, whichever limit the claim names (a cap used up at
            # the same time is named first): the exhaustion is announced, once.
            if room.budget <= 0 and program["budget_exhausted_at"] is None:
                await _exhaust_budget(ctx, program)
            continue
        created.append(
            await _create_claim(
                ctx,
                program=program,
                loan=loan,
                kind=kind,
                repayment_id=repayment_id,
                basis_date=basis_date,
                basis=basis,
                result=result,
            )
        )
    return created


async def _create_claim(
    ctx: Ctx,
    *,
    program: Any,
    loan: Any,
    kind: str,
    repayment_id: UUID | None,
    basis_date: date,
    basis: Decimal,
    result: ClaimAmount,
) -> UUID:
    """Keep the program's pending claim of ``result.amount`` on the loan, audited, with
    ``subsidy.claim.created``; returns its id."""
    claim_id = uuid7()
    claim = {
        "id": claim_id,
        "program_id": program["id"],
        "loan_id": loan["id"],
        "enterprise_id": loan["enterprise_id"],
        "district_code": loan["district_code"],
        "kind": kind,
        "repayment_id": repayment_id,
        "basis_date": basis_date,
        "claim_year": basis_date.year,
        "basis_amount": basis,
        "computed_amount": result.computed,
        "amount": result.amount,
        "limited_by": result.limited_by,
        "state": ClaimState.PENDING,
        "created_at": ctx.now,
    }
    await repository.insert_claim(ctx.db, claim=claim)
    audit.record(
        ctx,
        action="subsidy_claim.created",
        entity_type="subsidy_claim",
        entity_id=claim_id,
        after=claim,
    )
    outbox.emit(
        ctx, "subsidy.claim.created", claim_event(claim), district_code=loan["district_code"]
    )
    return claim_id


def _room(program: Any, used: dict[UUID, tuple[Decimal, Decimal]]) -> Room:
    """What is left under the program's caps for this loan and enterprise, and of its budget."""
    by_loan, by_enterprise = used.get(program["id"], (Decimal(0), Decimal(0)))
    return Room(
        cap_per_loan=None if program["cap_per_loan"] is None else program["cap_per_loan"] - by_loan,
        cap_per_enterprise_year=None
        if program["cap_per_enterprise_year"] is None
        else program["cap_per_enterprise_year"] - by_enterprise,
        budget=program["annual_budget"] - program["committed"],
    )


async def _exhaust_budget(ctx: Ctx, program: Any) -> None:
    """Mark the program's budget exhausted, audited, with ``subsidy.budget_exhausted``."""
    await repository.mark_budget_exhausted(ctx.db, program_id=program["id"], at=ctx.now)
    audit.record(
        ctx,
        action="subsidy_program.budget_exhausted",
        entity_type="subsidy_program",
        entity_id=program["id"],
        after={"committed": program["committed"], "annual_budget": program["annual_budget"]},
    )
    outbox.emit(
        ctx,
        "subsidy.budget_exhausted",
        {
            "program_id": program["id"],
            "name": program["name"],
            "annual_budget": program["annual_budget"],
            "committed": program["committed"],
            "budget_year": program["budget_year"],
        },
        district_code=program["district_code"],
    )


async def on_interest_paid(
    ctx: Ctx, *, loan: Any, repayment_id: UUID, paid_on: date, interest: Decimal
) -> list[UUID]:
    """An interest subsidy claim per applicable programme for an interest payment."""
    return await _claim(
        ctx,
        kind="interest_subsidy",
        loan=loan,
        basis_date=paid_on,
        basis=interest,
        repayment_id=repayment_id,
    )


async def on_default(
    ctx: Ctx, *, loan: Any, defaulted_on: date, outstanding_principal: Decimal
) -> list[UUID]:
    """A risk-compensation claim per applicable programme for a defaulted loan."""
    return await _claim(
        ctx,
        kind="risk_compensation",
        loan=loan,
        basis_date=defaulted_on,
        basis=outstanding_principal,
        repayment_id=None,
    )
