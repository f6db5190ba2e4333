"""Working-day arithmetic: a deadline costs the same whatever its length and whatever lies in
between (holidays, make-up weekends, a year end)."""

from __future__ import annotations

import statistics
import time
from datetime import date
from typing import Any

from app.calendar import service
from bench.harness import time_per_call
from bench.setup import BenchSession

MAX_SPREAD = 1.5  # slowest case per call over the fastest

CASES = [
    ("n=3", date(2026, 2, 13), 3),  # across the Spring Festival
    ("n=10", date(2026, 9, 30), 10),  # across National Day
    ("n=250", date(2025, 3, 3), 250),
    ("n=10 across a year end", date(2025, 12, 24), 10),
]


async def deadline_arithmetic(session: BenchSession) -> list[dict[str, Any]]:
    async with session.database.connection() as db:
        index = await service.load_index(db)
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            await service.load_index(db)
            loads.append(time.perf_counter() - started)
    rows: list[dict[str, Any]] = [
        {
            "name": "deadline arithmetic: reload the index (after a calendar change)",
            "figure": f"{statistics.median(loads) * 1e3:.1f} ms ({index!r})",
            "target": "",
            "verdict": "",
        }
    ]
    per_call: dict[str, float] = {}
    for label, start, n in CASES:

        def call(start: date = start, n: int = n) -> date:
            return index.add_working_days(start, n)

        per_call[label] = time_per_call(call) * 1e6
        rows.append(
            {
                "name": f"deadline arithmetic: add_working_days {label}",
                "figure": f"{per_call[label]:.2f} µs/call ({start} → {call()})",
                "target": "",
                "verdict": "",
            }
        )
    spread = max(per_call.values()) / min(per_call.values())
    rows.append(
        {
            "name": "deadline arithmetic: slowest / fastest",
            "figure": f"{spread:.2f}×",
            "target": f"≤{MAX_SPREAD}×",
            "verdict": "ok" if spread <= MAX_SPREAD else "MISS",
        }
    )
    return rows
