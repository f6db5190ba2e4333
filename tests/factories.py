"""Small factories that write rows directly, for tests that need a world to act in. Each call
makes fresh, unique data, so tests never depend on one another."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core.ids import uuid7

_serial = itertools.count(1)


def _unique_digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


async def enterprise(
    conn: asyncpg.Connection,
    *,
    district_code: str = "440307",
    industry: str = "artificial_intelligence",
    cross_border: bool = False,
    name: str | None = None,
) -> UUID:
    enterprise_id = uuid7()
    await conn.execute(
        """INSERT INTO enterprises (id, name, credit_code, district_code, industry, high_tech,
                                    cross_border, created_at)
           VALUES ($1, $2, $3, $4, $5, true, $6, now())""",
        enterprise_id,
        name or f"Enterprise {next(_serial)}",
        "TEST" + secrets.token_hex(7).upper(),
        district_code,
        industry,
        cross_border,
    )
    return enterprise_id


async def ip_asset(
    conn: asyncpg.Connection,
    holder: UUID,
    *,
    kind: str = "invention_patent",
    protection_expires_on: date | None = date(2040, 1, 1),
    value: Decimal | None = None,
    valued_on: date | None = None,
) -> UUID:
    asset_id = uuid7()
    number = {
        "trademark": _unique_digits(8),
        "software_copyright": "2026SR" + _unique_digits(7),
    }.get(kind, "T" + _unique_digits(12))
    await conn.execute(
        """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id, nice_class,
                                  protection_expires_on, created_at)
           VALUES ($1, $2, $3, 'A pledged right', $4, $5, $6, now())""",
        asset_id,
        kind,
        number,
        holder,
        9 if kind == "trademark" else None,
        protection_expires_on,
    )
    if value is not None:
        await valuation(conn, asset_id, value=value, valued_on=valued_on or date(2026, 1, 5))
    return asset_id


async def valuation(
    conn: asyncpg.Connection, asset_id: UUID, *, value: Decimal, valued_on: date
) -> UUID:
    """A valuation recorded on the day it is dated (Shanghai midnight), so that it precedes
    any instant a test's clock is set to after that day, as a real one would."""
    valuation_id = uuid7()
    await conn.execute(
        """INSERT INTO ip_asset_valuations (id, ip_asset_id, value, appraiser, method,
                                            valuation_date, created_at)
           VALUES ($1, $2, $3, 'Shenzhen Appraisal Co.', 'income approach', $4,
                   $4::date::timestamp AT TIME ZONE 'Asia/Shanghai')""",
        valuation_id,
        asset_id,
        value,
        valued_on,
    )
    return valuation_id


async def lpr(conn: asyncpg.Connection, on: date, one_year_bp: int = 300, five_year_bp: int = 350):
    await conn.execute(
        """INSERT INTO lpr_fixings (fixing_date, one_year_bp, five_year_bp, created_at,
                                    updated_at, version)
           VALUES ($1, $2, $3, now(), now(), 1)
           ON CONFLICT (fixing_date) DO UPDATE SET one_year_bp = EXCLUDED.one_year_bp""",
        on,
        one_year_bp,
        five_year_bp,
    )


async def risk_compensation_program(
    conn: asyncpg.Connection, district_code: str, *, effective_from: date = date(2026, 1, 1)
) -> UUID:
    program_id = uuid7()
    await conn.execute(
        """INSERT INTO subsidy_programs (id, district_code, kind, name, share, cap_per_loan,
                 cap_per_enterprise_year, annual_budget, budget_year, effective_from,
                 effective_to, industries, committed, created_at, version)
           VALUES ($1, $2, 'risk_compensation', 'Risk pool', 0.50, NULL, NULL, 10000000.00,
                   2026, $3, NULL, NULL, 0, now(), 1)""",
        program_id,
        district_code,
        effective_from,
    )
    return program_id


def at(text: str) -> datetime:
    """A moment written as an ISO string with its offset."""
    return datetime.fromisoformat(text)


def application_body(enterprise_id: UUID, assets: list[UUID], **overrides: Any) -> dict:
    body = {
        "enterprise_id": str(enterprise_id),
        "amount": "5000000.00",
        "term_months": 12,
        "purpose": "working capital for the 2026 production line",
        "ip_asset_ids": [str(a) for a in assets],
    }
    body.update(overrides)
    return body
