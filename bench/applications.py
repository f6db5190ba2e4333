"""Intake and the approval clock under load: creating and submitting applications (HTTP, against
the floor), and the list endpoint and the SLA sweep at 10,000 and at 1,000,000 applications."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.applications import sweep
from app.core.roles import Role
from app.core.schemas import encode_cursor
from bench import harness
from bench.harness import Request
from bench.setup import BenchDatabase, BenchSession

RM = "RM-BENCH"


async def _enterprise_with_assets(session: BenchSession, assets: int) -> tuple[str, list[str]]:
    async with session.database.connection() as db:
        enterprise = await db.fetchval(
            """INSERT INTO enterprises (id, name, credit_code, district_code, industry, high_tech,
                                        cross_border, created_at)
               VALUES (uuid7(), 'Bench Co.', 'BENCH' || substr(md5(random()::text), 1, 13),
                       '440307', 'artificial_intelligence', true, false, now())
               RETURNING id"""
        )
        ids = await db.fetch(
            """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id,
                                      protection_expires_on, created_at)
               SELECT uuid7(), 'invention_patent', 'B' || md5(random()::text), 'bench patent',
                      $1, '2040-01-01', now()
               FROM generate_series(1, $2)
               RETURNING id""",
            enterprise,
            assets,
        )
        await db.execute("ANALYZE enterprises; ANALYZE ip_assets")
    return str(enterprise), [str(r["id"]) for r in ids]


async def create_requests(session: BenchSession, n: int) -> list[Request]:
    enterprise, assets = await _enterprise_with_assets(session, 2)
    key = await session.key(Role.RELATIONSHIP_MANAGER, RM)
    body = json.dumps(
        {
            "enterprise_id": enterprise,
            "amount": "8000000.00",
            "term_months": 24,
            "purpose": "working capital",
            "ip_asset_ids": assets,
        }
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return [Request("POST", "/v1/applications", headers, body)]


async def create_with_key_requests(session: BenchSession, n: int) -> list[Request]:
    """The same drafts as ``create_requests``, each request with an Idempotency-Key of its own,
    as a bank system retrying safely sends them: the key is claimed, looked up and stored with
    the draft, in the request's transaction."""
    (template,) = await create_requests(session, n)
    prefix = uuid.uuid4().hex[:12]
    return [
        Request(
            template.method,
            template.path,
            {**template.headers, "Idempotency-Key": f"bench-{prefix}-{i}"},
            template.body,
        )
        for i in range(n)
    ]


async def seed_drafts(session: BenchSession, n: int) -> list[str]:
    """``n`` drafts, each naming an asset of its own (a submission pledges it)."""
    enterprise, assets = await _enterprise_with_assets(session, n)
    async with session.database.connection() as db:
        rows = await db.fetch(
            """WITH drafts AS (
                   INSERT INTO applications (id, reference, enterprise_id,
                       relationship_manager_id, amount, term_months, purpose, state,
                       district_code, industry, created_at, updated_at, version)
                   SELECT uuid7(), 'ZCR-2026-B' || nextval('application_reference_seq'), $1, $2,
                          8000000.00, 24, 'bench', 'draft', '440307', 'artificial_intelligence',
                          now(), now(), 1
                   FROM generate_series(1, $3)
                   RETURNING id
               ),
               numbered AS (SELECT id, row_number() OVER () AS n FROM drafts),
               assets AS (SELECT a, row_number() OVER () AS n FROM unnest($4::uuid[]) AS a),
               links AS (
                   INSERT INTO application_assets (application_id, ip_asset_id)
                   SELECT numbered.id, assets.a FROM numbered JOIN assets USING (n)
               )
               SELECT id FROM numbered""",
            enterprise,
            RM,
            n,
            assets,
        )
        await db.execute("ANALYZE applications; ANALYZE application_assets")
    return [str(r["id"]) for r in rows]


async def submit_requests(session: BenchSession, n: int) -> list[Request]:
    drafts = await seed_drafts(session, n)
    key = await session.key(Role.RELATIONSHIP_MANAGER, RM)
    headers = {"Authorization": f"Bearer {key}"}
    return [Request("POST", f"/v1/applications/{d}/submit", headers) for d in drafts]


async def read_requests(session: BenchSession, n: int) -> list[Request]:
    drafts = await seed_drafts(session, 1000)
    key = await session.key(Role.CREDIT_OFFICER)
    headers = {"Authorization": f"Bearer {key}"}
    return [Request("GET", f"/v1/applications/{d}", headers) for d in drafts]


# --- at scale ------------------------------------------------------------------------------

# The list's default page size: "a page 1,000 pages deep" is 49,950 rows in.
PAGE = 50

SEED_PORTFOLIO = """
WITH apps AS (
    INSERT INTO applications (id, reference, enterprise_id, relationship_manager_id, amount,
        term_months, purpose, state, district_code, industry, created_at, updated_at, version,
        received_at, tier_working_days, deadline_date, deadline_at, decided_at, outcome)
    SELECT uuid7(), 'ZCR-SEED-' || nextval('application_reference_seq'), $1,
           'RM-' || (g % 200), 1000000 + (g % 50) * 100000, 12, 'seed',
           CASE WHEN g % 20 = 0 THEN 'submitted' WHEN g % 20 = 1 THEN 'under_review'
                WHEN g % 20 = 2 THEN 'draft' ELSE 'declined' END,
           (ARRAY['440303','440304','440305','440306','440307','440308','440309','440310',
                  '440311'])[1 + g % 9],
           (ARRAY['artificial_intelligence','low_altitude_economy','intelligent_driving',
                  'electronic_information','biomedicine','low_carbon','other'])[1 + g % 7],
           $2::timestamptz, $2::timestamptz, 2,
           CASE WHEN draft THEN NULL ELSE r END,
           CASE WHEN draft THEN NULL ELSE 3 END,
           CASE WHEN draft THEN NULL ELSE r::date + 4 END,
           CASE WHEN draft THEN NULL ELSE r::date + 5 - interval '1 microsecond' END,
           CASE WHEN g % 20 > 2 THEN r + interval '1 day' END,
           CASE WHEN g % 20 > 2 THEN 'declined' END
    FROM generate_series(1, $3) AS g,
         LATERAL (SELECT $2::timestamptz - (g % 30) * interval '1 day' AS r,
                         g % 20 = 2 AS draft) AS s
    RETURNING id, state, received_at, deadline_date, deadline_at, decided_at
)
INSERT INTO approval_clocks (id, application_id, seq, tier_working_days, received_at,
                             deadline_date, deadline_at, stopped_at, stop_reason,
                             at_risk_notified_at, breached_notified_at, created_at)
SELECT uuid7(), id, 1, 3, received_at, deadline_date, deadline_at, decided_at,
       CASE WHEN decided_at IS NOT NULL THEN 'decided' END,
       CASE WHEN decided_at IS NULL AND deadline_date < $2::timestamptz::date
            THEN $2::timestamptz END,
       CASE WHEN decided_at IS NULL AND deadline_at < $2::timestamptz THEN $2::timestamptz END,
       $2::timestamptz
FROM apps WHERE state <> 'draft'
"""


async def _grow(session: BenchSession, enterprise: str, total: int, current: int) -> None:
    now = datetime.now(UTC) - timedelta(days=1)
    async with session.database.connection() as db:
        step = 200_000
        while current < total:
            n = min(step, total - current)
            await db.execute(SEED_PORTFOLIO, enterprise, now, n)
            current += n
        await db.execute("ANALYZE applications; ANALYZE approval_clocks")


def _median_ms(client: httpx.Client, url: str, headers: dict[str, str], runs: int = 40) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(timings)


async def _deep_cursor(session: BenchSession, position: int) -> str:
    async with session.database.connection() as db:
        last = await db.fetchval(
            "SELECT id FROM applications ORDER BY id DESC OFFSET $1 LIMIT 1", position - 1
        )
    return encode_cursor(last)


async def _sweep_ms(session: BenchSession, runs: int = 5) -> float:
    """One sweep pass in steady state: each run rolls back, so every run does the same work."""
    timings = []
    async with session.database.connection() as db:
        for _ in range(runs):
            transaction = db.conn.transaction()
            await transaction.start()
            start = time.perf_counter()
            await sweep.emit_due_events(db, now=datetime.now(UTC), request_id="bench")
            timings.append((time.perf_counter() - start) * 1000)
            await transaction.rollback()
    return statistics.median(timings)


ROUNDS = 3
_MEASURED = ("first", "deep", "breached", "sweep")


async def at_scale(session: BenchSession) -> list[dict[str, Any]]:
    """In two databases of their own, one of 10,000 applications and one of 1,000,000 (the
    bench's database holds what the HTTP scenarios left, a hundred thousand and more), each
    with its server up, measured in alternating rounds: 10,000 first, then 1,000,000 first. A
    figure is the median of its rounds. This machine's speed drifts within minutes, and one
    size measured after the other put that drift into their ratio."""
    small = BenchDatabase(server_url=session.db.server_url, name=f"{session.db.name}_10k")
    large = BenchDatabase(server_url=session.db.server_url, name=f"{session.db.name}_1m")
    try:
        await small.prepare()
        await large.prepare()
        return await small.run(
            lambda s: large.run(lambda big: _at_scale({10_000: s, 1_000_000: big}))
        )
    finally:
        await small.drop()
        await large.drop()


async def _seeded(session: BenchSession, size: int) -> tuple[dict[str, str], str]:
    """``size`` applications, and a credit officer's headers and the cursor of the page 1,000
    deep (at 10,000 applications, the last page, 200 deep)."""
    enterprise, _ = await _enterprise_with_assets(session, 1)
    key = await session.key(Role.CREDIT_OFFICER)
    await _grow(session, enterprise, size, 0)
    cursor = await _deep_cursor(session, min(999 * PAGE, size - PAGE))
    return {"Authorization": f"Bearer {key}"}, cursor


async def _at_scale(sessions: dict[int, BenchSession]) -> list[dict[str, Any]]:
    seeded = {size: await _seeded(session, size) for size, session in sessions.items()}
    samples: dict[int, dict[str, list[float]]] = {
        size: {name: [] for name in _MEASURED} for size in sessions
    }
    with ExitStack() as stack:
        clients = {}
        for size, session in sessions.items():
            env = {
                "IPLEDGE_DATABASE_URL": session.db.async_url,
                "IPLEDGE_ACCESS_LOG": "false",
                "IPLEDGE_LOG_LEVEL": "WARNING",
                "IPLEDGE_DB_POOL_SIZE": "4",  # one request at a time
            }
            base = stack.enter_context(harness.server("app.main:app_factory", env, factory=True))
            clients[size] = stack.enter_context(httpx.Client(base_url=base, timeout=30))
        for round_ in range(ROUNDS):
            order = sorted(sessions, reverse=round_ % 2 == 1)
            for size in order:
                headers, cursor = seeded[size]
                client, got = clients[size], samples[size]
                got["first"].append(_median_ms(client, f"/v1/applications?limit={PAGE}", headers))
                got["deep"].append(
                    _median_ms(client, f"/v1/applications?limit={PAGE}&cursor={cursor}", headers)
                )
                got["breached"].append(
                    _median_ms(client, f"/v1/applications?limit={PAGE}&sla_state=breached", headers)
                )
                got["sweep"].append(await _sweep_ms(sessions[size]))
    figures = {
        size: {name: statistics.median(values) for name, values in by_name.items()}
        for size, by_name in samples.items()
    }
    rows = []
    for name, label in (
        ("first", f"list: first page (limit {PAGE})"),
        (
            "deep",
            f"list: page 1,000 deep at 1M ({999 * PAGE:,} rows in), the last page (200) at 10k",
        ),
        ("breached", "list: sla_state=breached first page"),
        ("sweep", "SLA sweep (one pass)"),
    ):
        small, large = figures[10_000][name], figures[1_000_000][name]
        ratio = large / small if small else float("inf")
        rows.append(
            {
                "name": label,
                "figure": f"{small:.1f} ms at 10k → {large:.1f} ms at 1M ({ratio:.2f}×), "
                f"medians of {ROUNDS} alternating rounds",
                "target": "≤ 2× the 10k cost",
                "verdict": "ok" if ratio <= 2 else "MISS",
            }
        )
    return rows
