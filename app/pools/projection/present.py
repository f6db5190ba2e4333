"""How a projection is shown: the engine's integer fen as exact money, its months as dates,
and the monthly rows as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from app.loans.schedule import due_date
from app.pools.projection.model import Projection, TrancheFlows
from app.pools.schemas import ProjectionRow, TrancheMonth, TrancheTotal

POOL_COLUMNS = (
    "period",
    "date",
    "beginning_balance",
    "scheduled_principal",
    "prepayments",
    "defaults",
    "recoveries",
    "interest_collected",
    "fees",
    "released",
    "ending_balance",
)
TRANCHE_COLUMNS = ("interest_paid", "principal_paid", "writedown", "ending_balance", "shortfall")


def money(fen: int) -> Decimal:
    """Integer fen as exact yuan with two places."""
    return Decimal(fen).scaleb(-2)


def period_date(cut_off: date, period: int) -> date:
    """Month ``period`` after the cut-off ends on the cut-off's day that many months on (the
    month's last day where it has none); after a cut-off on a month's last day, on each month's
    last day (a cut-off of 30 April gives 31 May, 30 June, 31 July, …)."""
    if (cut_off + timedelta(days=1)).day == 1:
        year, month = divmod(cut_off.month + period, 12)
        following = date(cut_off.year + year, month + 1, 1)  # the month after the period's
        return following - timedelta(days=1)
    return due_date(cut_off, period)


def _tranche_month(flows: TrancheFlows, t: int) -> TrancheMonth:
    return TrancheMonth(
        name=flows.name,
        interest_paid=money(flows.interest_paid[t]),
        principal_paid=money(flows.principal_paid[t]),
        writedown=money(flows.writedown[t]),
        ending_balance=money(flows.ending_balance[t]),
        shortfall=money(flows.shortfall[t]),
    )


def rows(projection: Projection, cut_off: date) -> list[ProjectionRow]:
    c = projection.collateral
    columns = [
        c.beginning.tolist(),
        c.scheduled_principal.tolist(),
        c.prepayments.tolist(),
        c.defaults.tolist(),
        c.recoveries.tolist(),
        c.interest.tolist(),
        projection.fees,
        projection.released,
        c.ending.tolist(),
    ]
    out = []
    for t in range(c.months):
        amounts = [money(column[t]) for column in columns]
        out.append(
            ProjectionRow(
                period=t + 1,
                date=period_date(cut_off, t + 1),
                **dict(zip(POOL_COLUMNS[2:], amounts, strict=True)),
                tranches=[_tranche_month(f, t) for f in projection.tranches],
            )
        )
    return out


def tranche_totals(projection: Projection, cut_off: date) -> list[TrancheTotal]:
    def on(period: int | None) -> date | None:
        return None if period is None else period_date(cut_off, period)

    return [
        TrancheTotal(
            name=t.name,
            original_balance=money(t.original_balance),
            principal_paid=money(t.principal_paid),
            interest_paid=money(t.interest_paid),
            loss=money(t.loss),
            interest_shortfall=money(t.interest_shortfall),
            wal_years=t.wal_years,
            first_payment_date=on(t.first_payment_period),
            last_payment_date=on(t.last_payment_period),
        )
        for t in projection.totals
    ]


def _cell(text: str) -> str:
    """A cell a spreadsheet would read as a formula is prefixed with ``'``."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(monthly: list[ProjectionRow]) -> str:
    """One line a month: the pool's columns, then each tranche's (``<name>_<column>``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = [t.name for t in monthly[0].tranches] if monthly else []
    writer.writerow([*POOL_COLUMNS, *(_cell(f"{n}_{c}") for n in names for c in TRANCHE_COLUMNS)])
    for row in monthly:
        data = row.model_dump(mode="json")
        writer.writerow(
            [
                *(data[c] for c in POOL_COLUMNS),
                *(t[c] for t in data["tranches"] for c in TRANCHE_COLUMNS),
            ]
        )
    return buffer.getvalue()
