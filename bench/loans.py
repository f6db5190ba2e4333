"""Loan arithmetic in process: how long a schedule takes to build (target: well under 1 ms)."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

from app.loans.schedule import RepaymentMethod, build_schedule
from bench.setup import BenchSession

SCHEDULE_TARGET_US = 1000.0
_BATCH = 200
_BATCHES = 15


def _per_call_us(method: RepaymentMethod) -> float:
    """The fastest of several batches: other work on the shared cores only ever adds time."""

    def build() -> None:
        build_schedule(
            principal=Decimal("8765432.10"),
            rate_bp=345,
            term_months=60,
            disbursed_on=date(2026, 1, 31),
            method=method,
        )

    for _ in range(_BATCH):  # warm up
        build()
    batches = []
    for _ in range(_BATCHES):
        started = time.perf_counter()
        for _ in range(_BATCH):
            build()
        batches.append((time.perf_counter() - started) / _BATCH * 1e6)
    return min(batches)


async def schedule_generation(session: BenchSession) -> list[dict[str, Any]]:
    rows = []
    for method in RepaymentMethod:
        us = _per_call_us(method)
        rows.append(
            {
                "name": f"schedule generation, 60 months ({method.value})",
                "figure": f"{us:.0f} µs per schedule",
                "target": f"< {SCHEDULE_TARGET_US:.0f} µs",
                "verdict": "ok" if us < SCHEDULE_TARGET_US else "MISS",
            }
        )
    return rows
