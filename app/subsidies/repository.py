from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.models.subsidy_claim import ClaimState
from app.subsidies.in_force import in_force_sql

# The programmes a claim falls under: the district's programmes of the kind in force on the
# date, covering the industry; locked in id order, so concurrent claimants never deadlock.
_APPLICABLE = f"""
SELECT id, district_code, kind, name, share, cap_per_loan, cap_per_enterprise_year, annual_budget,
       budget_year, committed, budget_exhausted_at
FROM subsidy_programs p
WHERE district_code = $1 AND kind = $2 AND {in_force_sql("p", "$3")}
  AND (industries IS NULL OR $4 = ANY(industries))
ORDER BY id
FOR UPDATE"""


async def lock_applicable_programs(
    db: Db, *, district_code: str, kind: str, on: date, industry: str
) -> list[asyncpg.Record]:
    """The programmes a claim on ``on`` falls under (``_APPLICABLE``), locked."""
    return await db.fetch(_APPLICABLE, district_code, kind, on, industry)


async def claimed(
    db: Db, *, program_ids: list[UUID], loan_id: UUID, enterprise_id: UUID, year: int
) -> dict[UUID, tuple[Decimal, Decimal]]:
    """Per programme: what this loan has claimed, and what the enterprise has claimed in the
    year (rejected claims given back). A statement of its own, after the locks are held, so
    that it sees every claim committed by whoever held them before."""
    rows = await db.fetch(
        f"""SELECT program_id,
                  coalesce(sum(amount) FILTER (WHERE loan_id = $2), 0) AS by_loan,
                  coalesce(sum(amount) FILTER (WHERE claim_year = $4), 0) AS by_enterprise
           FROM subsidy_claims
           WHERE program_id = ANY($1::uuid[]) AND enterprise_id = $3
             AND state <> '{ClaimState.REJECTED}'
           GROUP BY program_id""",
        program_ids,
        loan_id,
        enterprise_id,
        year,
    )
    return {r["program_id"]: (r["by_loan"], r["by_enterprise"]) for r in rows}


async def insert_claim(db: Db, *, claim: dict[str, Any]) -> None:
    await db.execute(
        f"""WITH claim AS (
               INSERT INTO subsidy_claims (id, program_id, loan_id, enterprise_id, district_code,
                   kind, repayment_id, basis_date, claim_year, basis_amount, computed_amount,
                   amount, limited_by, state, created_at, updated_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                       '{ClaimState.PENDING}', $14, $14, 1)
           )
           UPDATE subsidy_programs SET committed = committed + $12, version = version + 1
           WHERE id = $2""",
        claim["id"],
        claim["program_id"],
        claim["loan_id"],
        claim["enterprise_id"],
        claim["district_code"],
        claim["kind"],
        claim["repayment_id"],
        claim["basis_date"],
        claim["claim_year"],
        claim["basis_amount"],
        claim["computed_amount"],
        claim["amount"],
        claim["limited_by"],
        claim["created_at"],
    )


async def mark_budget_exhausted(db: Db, *, program_id: UUID, at: datetime) -> None:
    await db.execute(
        "UPDATE subsidy_programs SET budget_exhausted_at = $2, version = version + 1 WHERE id = $1",
        program_id,
        at,
    )


PROGRAM_COLUMNS = """p.id, p.district_code, p.kind, p.name, p.share, p.cap_per_loan,
    p.cap_per_enterprise_year, p.annual_budget, p.budget_year, p.effective_from,
    p.effective_to, p.industries, p.committed, p.annual_budget - p.committed AS remaining,
    p.budget_exhausted_at, p.created_at, p.version"""

CLAIM_COLUMNS = """c.id, c.program_id, c.loan_id, c.enterprise_id, c.district_code, c.kind,
    c.repayment_id, c.basis_date, c.basis_amount, c.computed_amount, c.amount, c.limited_by,
    c.state, c.decided_at, c.decision_reason, c.paid_on, c.created_at, c.updated_at, c.version"""


async def insert_program(db: Db, *, values: dict[str, Any]) -> asyncpg.Record | None:
    """None when the district is unknown."""
    return await db.fetchrow(
        f"""INSERT INTO subsidy_programs AS p (id, district_code, kind, name, share, cap_per_loan,
                cap_per_enterprise_year, annual_budget, budget_year, effective_from,
                effective_to, industries, committed, created_at, created_by, version)
            SELECT $1, d.code, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, 1
            FROM districts d WHERE d.code = $2
            RETURNING {PROGRAM_COLUMNS}""",
        values["id"],
        values["district_code"],
        values["kind"],
        values["name"],
        values["share"],
        values["cap_per_loan"],
        values["cap_per_enterprise_year"],
        values["annual_budget"],
        values["budget_year"],
        values["effective_from"],
        values["effective_to"],
        values["industries"],
        values["created_at"],
        values["created_by"],
    )


async def get_program(db: Db, program_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {PROGRAM_COLUMNS} FROM subsidy_programs p WHERE p.id = $1", program_id
    )


async def programs_page(
    db: Db, *, where: str, args: list[Any], limit_param: str
) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT {PROGRAM_COLUMNS} FROM subsidy_programs p {where} "
        f"ORDER BY p.id DESC LIMIT {limit_param}",
        *args,
    )


async def get_claim(db: Db, claim_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"SELECT {CLAIM_COLUMNS} FROM subsidy_claims c WHERE c.id = $1", claim_id
    )


async def claims_page(
    db: Db, *, where: str, args: list[Any], limit_param: str
) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT {CLAIM_COLUMNS} FROM subsidy_claims c {where} "
        f"ORDER BY c.id DESC LIMIT {limit_param}",
        *args,
    )


async def decide_claim(
    db: Db,
    *,
    claim_id: UUID,
    version: int,
    outcome: str,
    reason: str | None,
    decided_by: UUID | None,
    now: datetime,
) -> asyncpg.Record | None:
    """Approve or reject a pending claim; a rejection gives its amount back to the budget in
    the same statement."""
    return await db.fetchrow(
        f"""WITH decided AS (
                UPDATE subsidy_claims c
                SET state = $3, decision_reason = $4, decided_by = $5, decided_at = $6,
                    updated_at = $6, version = c.version + 1
                WHERE c.id = $1 AND c.version = $2 AND c.state = '{ClaimState.PENDING}'
                RETURNING {CLAIM_COLUMNS}
            ),
            returned AS (
                UPDATE subsidy_programs p
                SET committed = p.committed - decided.amount, version = p.version + 1
                FROM decided
                WHERE p.id = decided.program_id AND decided.state = '{ClaimState.REJECTED}'
            )
            SELECT * FROM decided""",
        claim_id,
        version,
        outcome,
        reason,
        decided_by,
        now,
    )


async def pay_claim(
    db: Db, *, claim_id: UUID, version: int, paid_on: date, now: datetime
) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"""UPDATE subsidy_claims c SET state = '{ClaimState.PAID}', paid_on = $3, updated_at = $4,
                   version = c.version + 1
            WHERE c.id = $1 AND c.version = $2 AND c.state = '{ClaimState.APPROVED}'
            RETURNING {CLAIM_COLUMNS}""",
        claim_id,
        version,
        paid_on,
        now,
    )
