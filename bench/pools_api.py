"""Pools through the API, at size: the data tape of a 100,000-loan locked pool streamed over
HTTP (time, and the server's peak memory growth while it streams), and the automatic
selection over 10,000 eligible loans end to end (bench/pools.py's portfolio, in the database).

Both books are seeded with set-based SQL in one transaction each (temporary tables of the
generated rows, then one INSERT … SELECT a table), never through the ORM, then analysed.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import psutil

from app.core.clock import business_date
from app.core.db import Db
from app.core.roles import Role
from app.pools import repository, tape, tape_repository
from bench import harness
from bench import pools as pools_bench
from bench.setup import BenchSession

TAPE_NAME = "pool tape"
SELECTION_NAME = "pool selection via API"
TAPE_LOANS = 100_000
TAPE_ENTERPRISES = 20_000
TAPE_TARGET_S = 10.0
TAPE_MAX_GROWTH_MB = 50.0
SELECTION_TARGET_S = 5.0

# Every district and every industry (the selection book has bench/pools.py's skew instead).
DISTRICTS = sorted(pools_bench.DISTRICTS)
INDUSTRIES = sorted(pools_bench.INDUSTRIES)
_METHODS = ["equal_installment", "equal_principal", "interest_only_bullet"]

# $1 how many; every (district, industry) pair is used.
_TAPE_ENTERPRISES = """
CREATE TEMP TABLE seed_ent ON COMMIT DROP AS
SELECT g, uuid7() AS id, ($2::text[])[1 + g % 9] AS district_code,
       ($3::text[])[1 + (g / 9) % 7] AS industry
FROM generate_series(0, $1 - 1) AS g"""
# $1 how many loans, $2 how many enterprises, $3 the cut-off.
_TAPE_LOANS = """
CREATE TEMP TABLE seed_loan ON COMMIT DROP AS
SELECT n, (n::bigint * 7919 % $2)::int AS g,
       (200000 + n::bigint * 104729 % 4800000 + (n * 37 % 100) / 100.0)::numeric(20, 2)
           AS outstanding,
       (ARRAY[24, 36, 60])[1 + n % 3] AS term_months, $3::date - n % 240 AS disbursed_on
FROM generate_series(0, $1 - 1) AS n"""
# bench/pools.py's portfolio: $1 industries and $2 districts by obligor.
_SELECTION_ENTERPRISES = """
CREATE TEMP TABLE seed_ent ON COMMIT DROP AS
SELECT (o - 1)::int AS g, uuid7() AS id, d AS district_code, i AS industry
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(i, d, o)"""
# $1 obligor and $2 balance by loan; $3 the cut-off: 12 monthly instalments, all after it.
_SELECTION_LOANS = """
CREATE TEMP TABLE seed_loan ON COMMIT DROP AS
SELECT (n - 1)::int AS n, g, b AS outstanding, 12 AS term_months,
       $3::date - ((n - 1) % 25)::int AS disbursed_on
FROM unnest($1::int[], $2::numeric[]) WITH ORDINALITY AS x(g, b, n)"""

# $1 the cut-off, $2 the share of the principal repaid a step of n % 4, $3 the methods.
_DERIVE = """
CREATE TEMP TABLE seed_l ON COMMIT DROP AS
SELECT l.n, uuid7() AS application_id, uuid7() AS loan_id, e.id AS enterprise_id,
       e.district_code, e.industry, l.outstanding,
       l.outstanding + round(l.outstanding * (l.n % 4) * $2::numeric, 2) AS principal,
       300 + (l.n % 21) * 10 AS rate_bp, ($3::text[])[1 + l.n % cardinality($3::text[])]
           AS repayment_method,
       l.term_months, l.disbursed_on,
       (l.disbursed_on + make_interval(months => l.term_months))::date AS maturity_date,
       (SELECT count(*)::int FROM generate_series(1, l.term_months) i
        WHERE (l.disbursed_on + make_interval(months => i))::date > $1::date) AS remaining
FROM seed_loan l JOIN seed_ent e USING (g)"""

# The book from the seed tables, one script ({prefix} and {cut_off} are literals of this file's
# own): a second asset for every 10th loan and a second, later valuation for every 7th asset,
# so that the tape's multi-valued columns are exercised.
_BOOK = """
INSERT INTO enterprises (id, name, credit_code, district_code, industry, high_tech,
                         cross_border, created_at)
SELECT id, '{prefix} Co. ' || g || CASE WHEN g % 50 = 0 THEN ', "Shenzhen" Ltd.' ELSE '' END,
       '{prefix}' || lpad(g::text, 14, '0'), district_code, industry, g % 3 = 0, g % 11 = 0,
       now()
FROM seed_ent;
INSERT INTO applications (id, reference, enterprise_id, relationship_manager_id, amount,
    term_months, purpose, state, district_code, industry, created_at, updated_at, version,
    received_at, tier_working_days, deadline_date, deadline_at, decided_at, outcome,
    approved_amount, rate_bp)
SELECT application_id, 'ZCR-{prefix}-' || n, enterprise_id, 'RM-' || n % 200, principal,
       term_months, 'bench pool', 'disbursed', district_code, industry, t - interval '20 days',
       t, 6, t - interval '20 days', 3, (t - interval '15 days')::date, t - interval '14 days',
       t - interval '16 days', 'approved', principal, rate_bp
FROM seed_l, LATERAL (SELECT disbursed_on::timestamptz AS t) x;
INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id, district_code,
    industry, principal, outstanding_principal, rate_bp, repayment_method, term_months,
    disbursed_on, maturity_date, state, created_at, updated_at, version)
SELECT loan_id, application_id, enterprise_id, 'RM-' || n % 200, district_code, industry,
       principal, outstanding, rate_bp, repayment_method, term_months, disbursed_on,
       maturity_date, 'active', now(), now(), 1
FROM seed_l;
CREATE TEMP TABLE seed_asset ON COMMIT DROP AS
SELECT l.n, k, l.application_id, l.enterprise_id, l.outstanding, l.disbursed_on,
       uuid7() AS id, '{prefix}-' || l.n || '-' || k AS number,
       (ARRAY['invention_patent', 'utility_model', 'design_patent', 'trademark',
              'software_copyright'])[1 + (l.n + k) % 5] AS kind
FROM seed_l l, generate_series(1, CASE WHEN l.n % 10 = 0 THEN 2 ELSE 1 END) AS k;
INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id, nice_class,
                       protection_expires_on, created_at)
SELECT id, kind, number, 'bench asset ' || number, enterprise_id,
       CASE WHEN kind = 'trademark' THEN 9 END, DATE '{cut_off}' + 3650, now()
FROM seed_asset;
INSERT INTO application_assets (application_id, ip_asset_id)
SELECT application_id, id FROM seed_asset;
INSERT INTO pledges (id, application_id, ip_asset_id, state, registration_no, registered_on,
                     created_at, updated_at, version)
SELECT uuid7(), application_id, id, 'registered', 'REG-' || number, disbursed_on - 2, now(),
       now(), 2
FROM seed_asset;
INSERT INTO ip_asset_valuations (id, ip_asset_id, value, appraiser, method, valuation_date,
                                 created_at)
SELECT uuid7(), a.id, round(a.outstanding * (1.1 + v.step * 0.2 + a.k * 0.1), 2),
       '{prefix} Appraisal', 'income', DATE '{cut_off}' - 90 + v.step * 75, now()
FROM seed_asset a,
     generate_series(0, CASE WHEN (a.n + a.k) % 7 = 0 THEN 1 ELSE 0 END) AS v(step);
"""
# 12 equal-principal instalments, unpaid (the selection book's loans are all after the cut-off).
_INSTALMENTS = """
INSERT INTO loan_installments (loan_id, seq, due_date, principal, interest, paid_principal,
                               paid_interest)
SELECT l.loan_id, i, (l.disbursed_on + make_interval(months => i))::date,
       CASE WHEN i < l.term_months THEN p ELSE l.outstanding - p * (l.term_months - 1) END,
       round((l.outstanding - p * (i - 1)) * l.rate_bp / 120000, 2), 0, 0
FROM seed_l l, LATERAL (SELECT round(l.outstanding / l.term_months, 2) AS p) x,
     generate_series(1, l.term_months) AS i"""
# A locked pool of every seeded loan, its snapshot as a lock takes it (the cut-off balance,
# instalments left, the latest valuations by the cut-off).
_LOCKED_POOL = """
INSERT INTO pools (id, name, state, cut_off_date, target_balance, criteria, max_obligor_share,
                   max_industry_share, max_district_share, locked_at, created_at, updated_at,
                   version)
SELECT '{pool}', 'bench tape pool', 'locked', DATE '{cut_off}', sum(outstanding),
       '{{"districts": null, "industries": null, "min_balance": null, "max_balance": null,
         "min_remaining_months": 3}}'::jsonb, 0.10, 0.40, 1.00, now(), now(), now(), 3
FROM seed_l;
INSERT INTO pool_loans (pool_id, loan_id, enterprise_id, industry, district_code,
    cut_off_balance, rate_bp, remaining_months, days_past_due, pledged_value, added_at)
SELECT '{pool}', l.loan_id, l.enterprise_id, l.industry, l.district_code, l.outstanding,
       l.rate_bp, l.remaining, 0, v.pledged, now()
FROM seed_l l
JOIN (SELECT a.n, sum(latest.value) AS pledged
      FROM seed_asset a
      CROSS JOIN LATERAL (
          SELECT iv.value FROM ip_asset_valuations iv
          WHERE iv.ip_asset_id = a.id AND iv.valuation_date <= DATE '{cut_off}'
          ORDER BY iv.valuation_date DESC, iv.id DESC LIMIT 1
      ) latest
      GROUP BY a.n) v USING (n);
"""
# Vacuumed as well as analysed: a table just bulk-loaded has no hint bits set yet, and the
# first scan would pay for setting them (autovacuum would have, long before a tape is asked).
_VACUUM = """VACUUM (ANALYZE) enterprises, applications, application_assets, loans,
    loan_installments, ip_assets, pledges, ip_asset_valuations, pools, pool_loans"""


def _say(message: str) -> None:
    print(f"  pools api: {message}", file=sys.stderr)


def _cut_off() -> date:
    return business_date(datetime.now(UTC))


async def _seed(
    db: Db,
    *,
    prefix: str,
    cut_off: date,
    people: tuple[str, list[Any]],
    loans: tuple[str, list[Any]],
    paydown: str,
    methods: list[str],
    instalments: bool,
    locked_pool: Any = None,
) -> None:
    async with db.transaction():
        await db.execute("SET LOCAL statement_timeout = 0")
        await db.execute(people[0], *people[1])
        await db.execute(loans[0], *loans[1])
        await db.execute(_DERIVE, cut_off, Decimal(paydown), methods)
        await db.execute(_BOOK.format(prefix=prefix, cut_off=cut_off.isoformat()))
        if instalments:
            await db.execute(_INSTALMENTS)
        if locked_pool is not None:
            await db.execute(_LOCKED_POOL.format(pool=locked_pool, cut_off=cut_off.isoformat()))
            # The pledge cells a lock keeps, which a locked pool's tape reads.
            await tape_repository.freeze_pledge_cells(
                db, pool_id=locked_pool, cut_off=cut_off, as_of=datetime.now(UTC)
            )
    await db.execute(_VACUUM)


def _env(session: BenchSession, **extra: str) -> dict[str, str]:
    log = {"IPLEDGE_ACCESS_LOG": "false", "IPLEDGE_LOG_LEVEL": "WARNING"}
    return {"IPLEDGE_DATABASE_URL": session.db.async_url, **log, **extra}


class RssSampler(threading.Thread):
    """The resident set of one process, every ``interval`` seconds, until ``stop``."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.monotonic(), self.process.memory_info().rss))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]


def _lines(response: httpx.Response, counted: list[int]) -> Iterator[str]:
    """The body's lines as they arrive, none of them kept; ``counted`` gets the bytes."""
    rest, decoder = "", codecs.getincrementaldecoder("utf-8")()
    for chunk in response.iter_bytes():
        counted[0] += len(chunk)
        *complete, rest = (rest + decoder.decode(chunk)).split("\r\n")
        for line in complete:
            yield line + "\r\n"
    if rest:
        yield rest


# --- the tape ------------------------------------------------------------------------------


def _export(base: str, pool_id: str, headers: dict[str, str]) -> dict[str, Any]:
    balance_at = tape.COLUMNS.index("cut_off_balance")
    rows, total, nbytes = 0, Decimal(0), [0]
    with (
        httpx.Client(base_url=base, timeout=60) as client,
        client.stream("GET", f"/v1/pools/{pool_id}/tape", headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        reader = csv.reader(_lines(response, nbytes))
        header = next(reader)
        assert tuple(header) == tape.COLUMNS, header
        for record in reader:
            rows += 1
            total += Decimal(record[balance_at])
    return {"rows": rows, "total": total, "bytes": nbytes[0]}


def _watch_export(
    env: dict[str, str], pool_id: str, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], RssSampler, float, float]:
    """The pool's statistics (which also warms the server up), then the tape streamed while
    the server's resident set is sampled: for a second before, during, and a moment after."""
    with harness.server_process("app.main:app_factory", env, factory=True) as (base, proc):
        with httpx.Client(base_url=base, timeout=60) as client:
            response = client.get(f"/v1/pools/{pool_id}", headers=headers)
            assert response.status_code == 200, response.text
            stats = response.json()["stats"]
        sampler = RssSampler(proc.pid)
        sampler.start()
        time.sleep(1.0)
        begin = time.monotonic()
        exported = _export(base, pool_id, headers)
        end = time.monotonic()
        time.sleep(0.2)
        sampler.stop()
    return stats, exported, sampler, begin, end


async def tape_export(session: BenchSession) -> list[dict[str, Any]]:
    cut_off = _cut_off()
    started = time.perf_counter()
    async with session.database.connection() as db:
        pool_id = await db.fetchval("SELECT uuid7()")
        await _seed(
            db,
            prefix="TAPE",
            cut_off=cut_off,
            people=(_TAPE_ENTERPRISES, [TAPE_ENTERPRISES, DISTRICTS, INDUSTRIES]),
            loans=(_TAPE_LOANS, [TAPE_LOANS, TAPE_ENTERPRISES, cut_off]),
            paydown="0.05",
            methods=_METHODS,
            instalments=False,
            locked_pool=pool_id,
        )
    _say(f"tape book of {TAPE_LOANS:,} loans seeded in {time.perf_counter() - started:.1f} s")
    key = await session.key(Role.SECURITIZATION)
    stats, exported, sampler, begin, end = await asyncio.to_thread(
        _watch_export, _env(session), str(pool_id), {"Authorization": f"Bearer {key}"}
    )
    seconds = end - begin
    before = statistics.median(sampler.between(0, begin))
    peak = max(sampler.between(begin, end + 0.2))
    growth_mb = (peak - before) / 2**20
    expected = Decimal(stats["outstanding_principal"])
    reconciled = exported["rows"] == TAPE_LOANS and exported["total"] == expected
    check = (
        f"{exported['rows']:,} rows, Σ cut_off_balance {exported['total']} "
        f"{'=' if exported['total'] == expected else '≠'} stats {expected}"
    )
    return [
        {
            "name": f"{TAPE_NAME}: export of a {TAPE_LOANS:,}-loan pool (streamed, HTTP)",
            "figure": (
                f"{seconds:.2f} s, {exported['bytes'] / 2**20:.1f} MiB, "
                f"{exported['rows'] / seconds:,.0f} rows/s; {check}"
            ),
            "target": f"≤ {TAPE_TARGET_S:.0f} s, {TAPE_LOANS:,} rows reconciled with the stats",
            "verdict": "ok" if seconds <= TAPE_TARGET_S and reconciled else "MISS",
        },
        {
            "name": f"{TAPE_NAME}: server peak RSS growth during the export",
            "figure": (
                f"{growth_mb:.1f} MiB (before {before / 2**20:.0f} MiB, peak "
                f"{peak / 2**20:.0f} MiB, {len(sampler.between(begin, end))} samples)"
            ),
            "target": f"< {TAPE_MAX_GROWTH_MB:.0f} MiB",
            "verdict": "ok" if growth_mb < TAPE_MAX_GROWTH_MB else "MISS",
        },
    ]


# --- selection -----------------------------------------------------------------------------


async def _facts_ms(session: BenchSession, pool_id: str, cut_off: date) -> tuple[float, int]:
    async with session.database.connection() as db:
        pool = await repository.get_with_stats(db, UUID(pool_id))
        assert pool is not None
        started = time.perf_counter()
        facts = await repository.eligible_facts(
            db,
            pool_id=pool["id"],
            cut_off=cut_off,
            as_of=datetime.now(UTC),
            criteria=pool["criteria"],
        )
        return (time.perf_counter() - started) * 1000, len(facts)


def _select(
    env: dict[str, str], headers: dict[str, str], *, cut_off: date, target: Decimal
) -> tuple[str, float, dict[str, Any]]:
    """Open a pool through the API and time its automatic selection, end to end."""
    with (
        harness.server("app.main:app_factory", env, factory=True) as base,
        httpx.Client(base_url=base, timeout=120, headers=headers) as client,
    ):
        created = client.post(
            "/v1/pools",
            json={
                "name": "bench selection pool",
                "cut_off_date": cut_off.isoformat(),
                "target_balance": str(target),
            },
        )
        assert created.status_code == 201, created.text
        pool_id = created.json()["id"]
        begin = time.perf_counter()
        response = client.post(f"/v1/pools/{pool_id}/selection")
        seconds = time.perf_counter() - begin
        assert response.status_code == 200, response.text
    return pool_id, seconds, response.json()


async def selection_via_api(session: BenchSession) -> list[dict[str, Any]]:
    # Cut off yesterday: the loans the HTTP scenarios disbursed today are then not eligible,
    # and the pool chooses among this book's 10,000 alone.
    cut_off = _cut_off() - timedelta(days=1)
    candidates = pools_bench.portfolio()
    obligors = sorted({c.obligor for c in candidates})
    first = {c.obligor: c for c in reversed(candidates)}
    number = {o: k for k, o in enumerate(obligors)}
    started = time.perf_counter()
    async with session.database.connection() as db:
        await _seed(
            db,
            prefix="SEL",
            cut_off=cut_off,
            people=(
                _SELECTION_ENTERPRISES,
                [[first[o].industry for o in obligors], [first[o].district for o in obligors]],
            ),
            loans=(
                _SELECTION_LOANS,
                [
                    [number[c.obligor] for c in candidates],
                    [c.balance for c in candidates],
                    cut_off,
                ],
            ),
            paydown="0",
            methods=["equal_principal"],
            instalments=True,
        )
    seeded = time.perf_counter() - started
    _say(f"selection book of {len(candidates):,} loans seeded in {seeded:.1f} s")
    target = pools_bench.limits_for(candidates).target
    budget = os.environ.get("IPLEDGE_SELECTION_TIME_BUDGET_S", "4.0")
    key = await session.key(Role.SECURITIZATION)
    headers = {"Authorization": f"Bearer {key}"}
    env = _env(session, IPLEDGE_SELECTION_TIME_BUDGET_S=budget)
    pool_id, seconds, out = await asyncio.to_thread(
        _select, env, headers, cut_off=cut_off, target=target
    )
    facts_ms, eligible = await _facts_ms(session, pool_id, cut_off)
    selected, bound = Decimal(out["selected_balance"]), Decimal(out["bound_balance"])
    reached = selected / bound if bound else Decimal(1)
    rest_ms = seconds * 1000 - facts_ms - out["solve_ms"]
    ok = (
        seconds <= SELECTION_TARGET_S
        and reached >= pools_bench.MIN_REACHED
        and out["eligible_count"] == len(candidates)
    )
    return [
        {
            "name": f"{SELECTION_NAME}: {len(candidates):,} eligible loans / "
            f"{len(obligors):,} obligors, limits 0.10/0.40/1.00",
            "figure": (
                f"{seconds:.2f} s end to end (facts query ~{facts_ms:.0f} ms, solve "
                f"{out['solve_ms']} ms, the rest ~{rest_ms:.0f} ms); {out['solver']}, fallback "
                f"{str(out['fallback']).lower()}, optimal {str(out['optimal']).lower()}, "
                f"selected/bound {reached:.6f} (gap {out['gap']}), {out['selected_count']:,} "
                f"loans of {out['eligible_count']:,} eligible ({eligible:,} on a re-read); "
                f"budget {budget} s"
            ),
            "target": f"≤ {SELECTION_TARGET_S:.0f} s and ≥ {pools_bench.MIN_REACHED:.1%} of bound",
            "verdict": "ok" if ok else "MISS",
        }
    ]
