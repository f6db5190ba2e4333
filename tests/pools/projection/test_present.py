"""How a projection is shown: money from fen, month dates, and CSV that a spreadsheet cannot
mistake for formulas."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from app.pools.projection import engine, present
from app.pools.projection.model import PoolSchedule, Scenario, Structure, Tranche


def test_money_and_dates() -> None:
    assert str(present.money(123_456)) == "1234.56"
    assert f"{present.money(0):.2f}" == "0.00"
    # A cut-off on the 31st: month ends where the month is shorter.
    assert [present.period_date(date(2025, 1, 31), t) for t in (1, 2, 13)] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2026, 2, 28),
    ]


def test_csv_names_cannot_be_formulas() -> None:
    schedule = PoolSchedule(
        balance=100_000,
        principal=np.array([50_000, 50_000], dtype=np.int64),
        interest=np.array([500, 250], dtype=np.int64),
    )
    structure = Structure(
        tranches=(Tranche("=HYPERLINK(1)", Decimal("0.5"), 0), Tranche("B", Decimal("0.5"), 0)),
        fees_bp=0,
    )
    out = engine.project(schedule, Scenario(Decimal(0), Decimal(0), Decimal(0), 0), structure)
    text = present.to_csv(present.rows(out, date(2025, 1, 31)))
    lines = text.split("\r\n")
    assert "'=HYPERLINK(1)_interest_paid" in lines[0]
    assert lines[1].split(",")[:5] == ["1", "2025-02-28", "1000.00", "500.00", "0.00"]
    assert len(lines) == 4 and lines[-1] == ""
