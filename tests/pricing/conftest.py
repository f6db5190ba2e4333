"""Factories for pricing tests: rows inserted directly with SQL, on the test's connection (so
they roll back with it). The request clock stands on TODAY (Asia/Shanghai)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

from app.core.clock import FixedClock
from app.core.context import Ctx, Principal
from app.core.db import Db
from app.core.ids import uuid7
from app.core.roles import Role

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LONGGANG = "440307"
FUTIAN = "440304"


@dataclass
class PricingData:
    conn: asyncpg.Connection

    async def enterprise(
        self, *, industry: str = "biomedicine", district_code: str = LONGGANG
    ) -> UUID:
        enterprise_id = uuid7()
        await self.conn.execute(
            """INSERT INTO enterprises (id, name, credit_code, district_code, industry,
                                        high_tech, cross_border, created_at)
               VALUES ($1, $2, $3, $4, $5, true, false, $6)""",
            enterprise_id,
            f"Enterprise {enterprise_id.hex[-6:]}",
            secrets.token_hex(9).upper(),
            district_code,
            industry,
            NOW,
        )
        return enterprise_id

    async def asset(
        self,
        holder: UUID,
        *,
        kind: str = "utility_model",
        protection_expires_on: date | None = date(2040, 1, 1),
        value: Decimal | str | None = None,
        valued_on: date = TODAY,
    ) -> UUID:
        """An IP asset of ``holder``, valued at ``value`` on ``valued_on`` when given."""
        asset_id = uuid7()
        await self.conn.execute(
            """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id, nice_class,
                                      protection_expires_on, created_at)
               VALUES ($1, $2, $3, 'an asset', $4, $5, $6, $7)""",
            asset_id,
            kind,
            f"N{asset_id.hex}",
            holder,
            9 if kind == "trademark" else None,
            protection_expires_on,
            NOW,
        )
        if value is not None:
            await self.valuation(asset_id, value, valued_on)
        return asset_id

    async def valuation(
        self,
        asset_id: UUID,
        value: Decimal | str,
        valued_on: date,
        *,
        valuation_id: UUID | None = None,
    ) -> UUID:
        valuation_id = valuation_id or uuid7()
        await self.conn.execute(
            """INSERT INTO ip_asset_valuations (id, ip_asset_id, value, appraiser, method,
                                                valuation_date, created_at)
               VALUES ($1, $2, $3, 'Appraiser', 'income', $4, $5)""",
            valuation_id,
            asset_id,
            Decimal(value),
            valued_on,
            NOW,
        )
        return valuation_id

    async def application(
        self,
        enterprise_id: UUID,
        assets: list[UUID],
        *,
        amount: Decimal | str = "1000000.00",
        term_months: int = 12,
        state: str = "under_review",
    ) -> UUID:
        """An application naming ``assets``, with their ``proposed`` pledges once submitted."""
        application_id = uuid7()
        await self.conn.execute(
            """INSERT INTO applications (id, reference, enterprise_id, relationship_manager_id,
                                         amount, term_months, purpose, state, district_code,
                                         industry, created_at, updated_at, version)
               SELECT $1, $2, e.id, 'rm-1', $4, $5, 'working capital', $6, e.district_code,
                      e.industry, $7, $7, 1
               FROM enterprises e WHERE e.id = $3""",
            application_id,
            f"ZCR-2026-{application_id.hex[-10:]}",
            enterprise_id,
            Decimal(amount),
            term_months,
            state,
            NOW,
        )
        await self.conn.executemany(
            "INSERT INTO application_assets (application_id, ip_asset_id) VALUES ($1, $2)",
            [(application_id, a) for a in assets],
        )
        if state != "draft":
            await self.conn.executemany(
                """INSERT INTO pledges (id, application_id, ip_asset_id, state, created_at,
                                        updated_at, version)
                   VALUES ($1, $2, $3, 'proposed', $4, $4, 1)""",
                [(uuid7(), application_id, a, NOW) for a in assets],
            )
        return application_id

    async def program(
        self,
        *,
        district_code: str = LONGGANG,
        kind: str = "risk_compensation",
        effective_from: date = date(2026, 1, 1),
        effective_to: date | None = None,
        industries: list[str] | None = None,
    ) -> UUID:
        program_id = uuid7()
        await self.conn.execute(
            """INSERT INTO subsidy_programs (id, district_code, kind, name, share, annual_budget,
                                             budget_year, effective_from, effective_to,
                                             industries, committed, created_at, version)
               VALUES ($1, $2, $3, 'a programme', 0.5, 10000000, 2026, $4, $5, $6, 0, $7, 1)""",
            program_id,
            district_code,
            kind,
            effective_from,
            effective_to,
            industries,
            NOW,
        )
        return program_id

    async def lpr(self, fixing_date: date, one_year_bp: int = 300, five_year_bp: int = 350):
        await self.conn.execute(
            """INSERT INTO lpr_fixings (fixing_date, one_year_bp, five_year_bp, created_at,
                                        updated_at, version)
               VALUES ($1, $2, $3, $4, $4, 1)""",
            fixing_date,
            one_year_bp,
            five_year_bp,
            NOW,
        )


@pytest.fixture
def data(conn: asyncpg.Connection, clock: FixedClock) -> PricingData:
    clock.set(NOW)
    return PricingData(conn)


@pytest.fixture
def officer_ctx(runtime, conn: asyncpg.Connection) -> Ctx:
    """A credit officer's service-layer context on the test's connection, on TODAY."""
    return Ctx(
        db=Db(conn),
        principal=Principal(key_id=None, role=Role.CREDIT_OFFICER),
        now=NOW,
        settings=runtime.settings,
        request_id="pricing-test",
    )
