"""The three reports over 1,000,000 applications, each through the served API.

The portfolio is the one ``bench/applications.py`` seeds at scale (its ``SEED_PORTFOLIO``),
spread over several hundred enterprises; on top of it a third of the decisions become
approvals whose pledges are mostly registered, every other submitted application gets its
proposed or cancelled pledge, a tenth of the approvals are disbursed, and each loan carries a
risk-compensation claim on its district's programme.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.roles import Role
from app.core.types import SHANGHAI
from bench import harness
from bench.applications import SEED_PORTFOLIO
from bench.setup import BenchSession

NAME = "reports at 1M applications"
SIZE = 1_000_000
PER_ENTERPRISE = 2_000
TARGET_MS = 2_000

_ENTERPRISES = """
INSERT INTO enterprises (id, name, credit_code, district_code, industry, high_tech,
                         cross_border, created_at)
SELECT uuid7(), 'Report Co. ' || g, 'RPT' || substr(md5(random()::text), 1, 15),
       '440307', 'artificial_intelligence', true, false, now()
FROM generate_series(1, $1) AS g
RETURNING id
"""

# Every third decision of the seed becomes an approval.
_APPROVE = """
UPDATE applications SET state = 'approved', outcome = 'approved', approved_amount = amount
WHERE state = 'declined' AND reference LIKE 'ZCR-SEED-%'
  AND hashtext(id::text) % 3 = 0
"""

# A live pledge needs an asset of its own (one live pledge per asset); cancelled ones share one.
_PLEDGES = """
WITH needing AS (
    SELECT a.id, a.state, a.received_at,
           row_number() OVER (ORDER BY a.id) AS n
    FROM applications a
    WHERE a.state <> 'draft' AND a.reference LIKE 'ZCR-SEED-%'
      AND NOT EXISTS (SELECT 1 FROM pledges p WHERE p.application_id = a.id)
),
assets AS (
    INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id,
                           protection_expires_on, created_at)
    SELECT uuid7(), 'invention_patent', 'RPT-' || id, 'bench patent', $1, '2040-01-01', now()
    FROM needing WHERE state <> 'declined'
    RETURNING id, number
)
INSERT INTO pledges (id, application_id, ip_asset_id, state, registration_no, registered_on,
                     created_at, updated_at, version)
SELECT uuid7(), n.id, coalesce(x.id, $2),
       CASE WHEN n.state = 'declined' THEN 'cancelled'
            WHEN n.state = 'approved' AND n.n % 4 <> 0 THEN 'registered' ELSE 'proposed' END,
       CASE WHEN n.state = 'approved' AND n.n % 4 <> 0 THEN 'Y' || n.n END,
       CASE WHEN n.state = 'approved' AND n.n % 4 <> 0 THEN n.received_at::date + 2 END,
       now(), now(), 1
FROM needing n
LEFT JOIN assets x ON x.number = 'RPT-' || n.id
"""

_LOANS = """
WITH disbursed AS (
    UPDATE applications SET state = 'disbursed'
    WHERE state = 'approved' AND hashtext(id::text) % 10 = 0
    RETURNING id, enterprise_id, relationship_manager_id, district_code, industry, amount,
              decided_at
)
INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id, district_code,
                   industry, principal, outstanding_principal, rate_bp, repayment_method,
                   term_months, disbursed_on, maturity_date, state, created_at, updated_at,
                   version)
SELECT uuid7(), id, enterprise_id, relationship_manager_id, district_code, industry, amount,
       amount, 290, 'equal_installment', 12, decided_at::date, decided_at::date + 365,
       'active', now(), now(), 1
FROM disbursed
"""

_PROGRAMMES = """
INSERT INTO subsidy_programs (id, district_code, kind, name, share, annual_budget, budget_year,
                              effective_from, committed, created_at, version)
SELECT uuid7(), d.code, k.kind, d.name || ' ' || k.kind, 0.50, 1000000000000.00, y.year,
       make_date(y.year, 1, 1), 0, now(), 1
FROM districts d, (VALUES ('interest_subsidy'), ('risk_compensation')) AS k(kind),
     (VALUES ($1::int), ($1::int - 1)) AS y(year)
"""

_CLAIMS = """
WITH claimed AS (
    INSERT INTO subsidy_claims (id, program_id, loan_id, enterprise_id, district_code, kind,
                                basis_date, claim_year, basis_amount, computed_amount, amount,
                                state, created_at, updated_at, version)
    SELECT uuid7(), p.id, l.id, l.enterprise_id, l.district_code, 'risk_compensation',
           l.disbursed_on, p.budget_year, l.principal, l.principal / 2, l.principal / 2,
           (ARRAY['pending', 'approved', 'rejected', 'paid'])[1 + abs(hashtext(l.id::text)) % 4],
           now(), now(), 1
    FROM loans l
    JOIN subsidy_programs p
      ON p.district_code = l.district_code AND p.kind = 'risk_compensation'
     AND p.budget_year = extract(year FROM l.disbursed_on)
    WHERE NOT EXISTS (SELECT 1 FROM subsidy_claims c WHERE c.loan_id = l.id)
    RETURNING program_id, amount, state
)
UPDATE subsidy_programs p SET committed = p.committed + c.total
FROM (SELECT program_id, sum(amount) AS total FROM claimed WHERE state <> 'rejected'
      GROUP BY program_id) AS c
WHERE p.id = c.program_id
"""


def _say(message: str) -> None:
    print(f"  reports: {message}", file=sys.stderr)


async def _seed(session: BenchSession) -> None:
    """Grow the portfolio to ``SIZE`` applications (another measurement may have seeded part of
    it already), then add the approvals, pledges, loans and claims the reports read."""
    now = datetime.now(UTC) - timedelta(days=1)
    async with session.database.connection() as db:
        await db.execute("SET statement_timeout = 0")  # bulk statements over 1M rows
        current = await db.fetchval("SELECT count(*) FROM applications")
        missing = max(0, SIZE - current)
        enterprises = await db.fetch(_ENTERPRISES, -(-missing // PER_ENTERPRISE) or 1)
        started = time.perf_counter()
        for row in enterprises:
            if missing <= 0:
                break
            n = min(PER_ENTERPRISE, missing)
            await db.execute(SEED_PORTFOLIO, row["id"], now, n)
            missing -= n
        _say(f"applications seeded in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        await db.execute(_APPROVE)
        shared_asset = await db.fetchval(
            """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id,
                                      protection_expires_on, created_at)
               VALUES (uuid7(), 'invention_patent', 'RPT-SHARED', 'bench patent', $1,
                       '2040-01-01', now())
               ON CONFLICT (kind, number) DO UPDATE SET title = EXCLUDED.title
               RETURNING id""",
            enterprises[0]["id"],
        )
        await db.execute(_PLEDGES, enterprises[0]["id"], shared_asset)
        await db.execute(_LOANS)
        await db.execute(_PROGRAMMES, now.astimezone(SHANGHAI).year)
        await db.execute(_CLAIMS)
        await db.execute(
            "ANALYZE applications; ANALYZE pledges; ANALYZE ip_assets; ANALYZE loans; "
            "ANALYZE subsidy_programs; ANALYZE subsidy_claims; ANALYZE enterprises"
        )
        await db.execute("RESET statement_timeout")
        _say(f"approvals, pledges, loans and claims in {time.perf_counter() - started:.0f} s")


def _median_ms(client: httpx.Client, url: str, headers: dict[str, str], runs: int = 5) -> float:
    client.get(url, headers=headers)  # warm the plan and the buffers
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(timings)


async def at_scale(session: BenchSession) -> list[dict[str, Any]]:
    await _seed(session)
    officer = {"Authorization": f"Bearer {await session.key(Role.CREDIT_OFFICER)}"}
    rm = {"Authorization": f"Bearer {await session.key(Role.RELATIONSHIP_MANAGER, 'RM-7')}"}
    bureau = {"Authorization": f"Bearer {await session.key(Role.DISTRICT_BUREAU, '440307')}"}
    async with session.database.connection() as db:
        sizes = await db.fetchrow(
            """SELECT count(*) AS applications, count(received_at) AS received,
                      (SELECT count(*) FROM subsidy_claims) AS claims
               FROM applications"""
        )
    scale = f"{sizes['applications']:,} applications, {sizes['received']:,} received"
    today = datetime.now(SHANGHAI).date()
    period = f"from={today - timedelta(days=364)}&to={today}"
    claims = f"{sizes['claims']:,} claims"
    cases = [
        ("sla", f"credit officer, a year of {scale}", officer),
        ("sla", f"one relationship manager, {scale}", rm),
        ("campaign", f"credit officer, a year of {scale}", officer),
        ("campaign", f"one relationship manager, {scale}", rm),
        ("subsidies", f"credit officer, every district, {claims}", officer),
        ("subsidies", f"one district bureau, {claims}", bureau),
    ]
    env = {
        "IPLEDGE_DATABASE_URL": session.db.async_url,
        "IPLEDGE_ACCESS_LOG": "false",
        "IPLEDGE_LOG_LEVEL": "WARNING",
    }
    rows = []
    with (
        harness.server("app.main:app_factory", env, factory=True) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        for report, who, headers in cases:
            url = f"/v1/reports/{report}?{period}"
            ms = _median_ms(client, url, headers)
            rows.append(
                {
                    "name": f"GET /v1/reports/{report} ({who})",
                    "figure": f"{ms:.0f} ms (median of 5)",
                    "target": f"≤ {TARGET_MS} ms",
                    "verdict": "ok" if ms <= TARGET_MS else "MISS",
                }
            )
    return rows


if __name__ == "__main__":
    # Only this measurement, without the load-test floor: ``python -m bench.reports``.
    import asyncio

    from bench.setup import BenchDatabase

    database = BenchDatabase.create()
    asyncio.run(database.prepare())
    for result in asyncio.run(database.run(at_scale)):
        print("| " + " | ".join(result[k] for k in ("name", "figure", "target", "verdict")) + " |")
