"""The projection as a picture: each tranche's balance over time, and what the pool collects
each month, drawn with matplotlib into SVG.

matplotlib is imported when a chart is first drawn, not when the service starts: most
processes never draw one. Only its object API is used (no pyplot, whose global state is not
for threads), on the Agg-family SVG canvas, so that charts can be drawn off the event loop.
"""

from __future__ import annotations

import io
from decimal import Decimal

from app.pools.schemas import ProjectionOut

_WIDTH_IN, _HEIGHT_IN = 10.0, 7.0


def _yuan(value: float, _position: int) -> str:
    """A tick in CNY: ¥ and millions with one decimal (¥12.5m), or thousands below a million."""
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
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    dates = [row.date for row in projection.rows]
    names = [t.name for t in projection.tranches]
    with matplotlib.rc_context({"svg.hashsalt": "ipledge", "svg.fonttype": "none"}):
        figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), layout="constrained")
        FigureCanvasSVG(figure)
        balances, collections = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        figure.suptitle(title(projection), fontsize=12)
        series = [
            [float(row.tranches[j].ending_balance) for row in projection.rows]
            for j in range(len(names))
        ]
        balances.stackplot(
            dates, *series, labels=[f"{n} (tranche balance)" for n in names], alpha=0.85
        )
        balances.set_ylabel("Tranche balances at month end (CNY)")
        balances.legend(loc="upper right", fontsize=9)
        balances.grid(alpha=0.3)
        parts = (
            ("scheduled principal", [float(r.scheduled_principal) for r in projection.rows]),
            ("prepayments", [float(r.prepayments) for r in projection.rows]),
            ("recoveries", [float(r.recoveries) for r in projection.rows]),
            ("interest", [float(r.interest_collected) for r in projection.rows]),
        )
        bottom = [0.0] * len(dates)
        for label, values in parts:
            collections.bar(dates, values, bottom=bottom, width=20, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        collections.set_ylabel("Pool collections a month (CNY)")
        collections.set_xlabel("Month (payment date)")
        collections.legend(loc="upper right", fontsize=9, ncols=2)
        collections.grid(alpha=0.3)
        for axes in (balances, collections):
            axes.yaxis.set_major_formatter(FuncFormatter(_yuan))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
