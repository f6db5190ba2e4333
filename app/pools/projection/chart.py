"""The projection as a picture: each tranche's balance over time, and what the pool collects
each month, drawn with matplotlib into SVG.

matplotlib is imported when a chart is first drawn, not when the service starts: most
processes never draw one. Only its object API is used, on the headless Agg canvas (no pyplot,
whose global state is not for threads, and no display), so that charts can be drawn off the
event loop; ``savefig`` writes the figure as SVG.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from app.pools.schemas import ProjectionOut

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_WIDTH_IN, _HEIGHT_IN = 10.0, 7.0


def _yuan(value: float, _position: int) -> str:
    """A tick in CNY: ¥ and millions with one decimal (¥12.5m), thousands below a million."""
    if abs(value) >= 1_000_000:
        return f"¥{value / 1_000_000:,.1f}m"
    if value == 0:
        return "¥0"
    return f"¥{value / 1_000:,.0f}k"


def _percent(rate: Decimal) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def title(projection: ProjectionOut) -> str:
    s = projection.scenario
    return (
        f"Pool projection from the cut-off {projection.cut_off_date.isoformat()}: "
        f"CPR {_percent(s.cpr)}, CDR {_percent(s.cdr)}, recovery {_percent(s.recovery_rate)} "
        f"after {s.recovery_lag_months} months"
    )


def svg(projection: ProjectionOut) -> bytes:
    """The chart as SVG, its text kept as text and its ids fixed, so that one projection
    always draws the same bytes."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "ipledge", "svg.fonttype": "none"}):
        figure = draw(projection)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def draw(projection: ProjectionOut) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), layout="constrained")
    FigureCanvasAgg(figure)
    balances, collections = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    figure.suptitle(title(projection), fontsize=12)
    _balances(balances, projection)
    _collections(collections, projection)
    for axes in (balances, collections):
        axes.yaxis.set_major_formatter(FuncFormatter(_yuan))
        axes.grid(alpha=0.3)
    return figure


def _balances(axes: Axes, projection: ProjectionOut) -> None:
    # From the cut-off, where each tranche holds its original balance.
    dates = np.array(
        [projection.cut_off_date, *(row.date for row in projection.rows)], dtype="datetime64[D]"
    )
    series = [
        [
            float(t.original_balance),
            *(float(row.tranches[j].ending_balance) for row in projection.rows),
        ]
        for j, t in enumerate(projection.tranches)
    ]
    labels = [f"{t.name} (tranche balance)" for t in projection.tranches]
    areas = axes.stackplot(dates, *series, alpha=0.85)
    axes.set_ylabel("Tranche balances at month end (CNY)")
    # A tranche's name is the caller's text, drawn as written: handed over with its area (a
    # label starting "_" is otherwise left out of the legend) and not read as mathematics
    # (``$\frac{1}{$`` would otherwise fail every drawing of the chart).
    legend = axes.legend(areas, labels, loc="upper right", fontsize=9)
    for text in legend.get_texts():
        text.set_parse_math(False)


def _collections(axes: Axes, projection: ProjectionOut) -> None:
    rows = projection.rows
    dates = np.array([row.date for row in rows], dtype="datetime64[D]")
    parts = (
        ("scheduled principal", [float(r.scheduled_principal) for r in rows]),
        ("prepayments", [float(r.prepayments) for r in rows]),
        ("recoveries", [float(r.recoveries) for r in rows]),
        ("interest", [float(r.interest_collected) for r in rows]),
    )
    bottom = [0.0] * len(dates)
    for label, values in parts:
        axes.bar(dates, values, bottom=bottom, width=20, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("Pool collections a month (CNY)")
    axes.set_xlabel("Month (payment date)")
    axes.legend(loc="upper right", fontsize=9, ncols=2)
