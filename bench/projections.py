"""Pool cash-flow projections at scale: a 10,000-loan pool over 120 months.

The loans' schedules are generated, seeded (a third interest-only bullets, a third equal
instalments, a third equal principal; CNY 0.5–30 million; 12–120 months; 3–6% a year), as the
loans × months arrays of fen the engine takes. Each figure times everything from those arrays
on: aggregating them, projecting, and (for one scenario) presenting the monthly rows as exact
money. In-process, on this machine's shared cores.

    python -m bench.projections
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from app.pools.projection import engine, present
from app.pools.projection.model import Fen, Scenario, Structure, Tranche
from bench.setup import BenchSession

NAME = "pool projections, 10,000 loans × 120 months"
LOANS = 10_000
MONTHS = 120
TARGETS_S = {"one scenario": 0.5, "5 × 5 grid": 3.0, "break-even CDR": 2.0}
SCENARIO = Scenario(
    cpr=Decimal("0.08"), cdr=Decimal("0.03"), recovery_rate=Decimal("0.4"), recovery_lag_months=6
)
STRUCTURE = Structure(
    tranches=(
        Tranche("Senior", Decimal("0.80"), 300),
        Tranche("Mezzanine", Decimal("0.10"), 450),
        Tranche("Junior", Decimal("0.10"), 0),
    ),
    fees_bp=30,
)
CUT_OFF = date(2026, 11, 30)


def portfolio(seed: int = 20261207) -> tuple[Fen, Fen, Fen]:
    """Cut-off balances and the scheduled principal and interest (loans × months, in fen)."""
    rng = np.random.default_rng(seed)
    balances = np.clip(rng.lognormal(np.log(3e8), 0.9, LOANS), 5e7, 3e9).astype(np.int64)
    terms = rng.integers(12, MONTHS + 1, LOANS)
    rates = rng.uniform(0.03, 0.06, LOANS) / 12
    kinds = rng.integers(0, 3, LOANS)
    months = np.arange(1, MONTHS + 1)
    live = months[None, :] <= terms[:, None]
    # equal principal: balance / term a month, the last month absorbing the remainder
    level = np.where(live, (balances // terms)[:, None], 0)
    # equal instalments: the annuity's principal part, growing by (1 + r) a month
    annuity = balances * rates / ((1 + rates) ** terms - 1)
    growing = np.where(live, annuity[:, None] * (1 + rates[:, None]) ** (months - 1), 0)
    principal = np.select(
        [kinds[:, None] == 0, kinds[:, None] == 1],
        [np.where(months[None, :] == terms[:, None], balances[:, None], 0), growing],
        level,
    ).astype(np.int64)
    principal[np.arange(LOANS), terms - 1] += balances - principal.sum(axis=1)
    before = balances[:, None] - np.cumsum(principal, axis=1) + principal
    interest = np.where(live, np.rint(before * rates[:, None]), 0).astype(np.int64)
    return balances, principal, interest


def _timed(label: str, seconds: float, detail: str) -> dict[str, Any]:
    target = TARGETS_S[label]
    return {
        "name": f"{NAME}, {label}",
        "figure": f"{seconds:.3f} s; {detail}",
        "target": f"≤ {target:g} s",
        "verdict": "ok" if seconds <= target else "MISS",
    }


def measure() -> list[dict[str, Any]]:
    balances, principal, interest = portfolio()
    rows = []

    started = time.perf_counter()
    schedule = engine.aggregate(balances, principal, interest)
    projection = engine.project(schedule, SCENARIO, STRUCTURE)
    monthly = present.rows(projection, CUT_OFF)
    seconds = time.perf_counter() - started
    senior = projection.totals[0]
    rows.append(
        _timed("one scenario", seconds, f"{len(monthly)} rows, senior WAL {senior.wal_years}")
    )

    started = time.perf_counter()
    schedule = engine.aggregate(balances, principal, interest)
    points = [
        Scenario(Decimal(cpr), Decimal(cdr), Decimal("0.4"), 6)
        for cpr in ("0", "0.05", "0.10", "0.15", "0.20")
        for cdr in ("0", "0.02", "0.05", "0.10", "0.20")
    ]
    losses = [out.totals[-1].loss for _, out in engine.grid(schedule, points, STRUCTURE)]
    seconds = time.perf_counter() - started
    rows.append(_timed("5 × 5 grid", seconds, f"{len(losses)} points"))

    started = time.perf_counter()
    schedule = engine.aggregate(balances, principal, interest)
    found = engine.breakeven_cdr(schedule, SCENARIO, STRUCTURE)
    seconds = time.perf_counter() - started
    rows.append(_timed("break-even CDR", seconds, f"CDR {found}"))
    return rows


async def projections(session: BenchSession) -> list[dict[str, Any]]:
    return await asyncio.to_thread(measure)


if __name__ == "__main__":
    for row in measure():
        print(f"{row['name']}: {row['figure']} (target {row['target']}) {row['verdict']}")
