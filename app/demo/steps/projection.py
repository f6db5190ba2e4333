"""Step 11: the locked pool's cash flows projected under a stress scenario, with a senior and a
junior tranche, the senior's break-even default rate, and the chart of it (SPEC 3.9a)."""

from __future__ import annotations

from pathlib import Path

from app.config import get_settings
from app.demo.console import cny
from app.demo.state import Run, Skip

SCENARIO = {"cpr": "0.08", "cdr": "0.03", "recovery_rate": "0.40", "recovery_lag_months": 6}
STRUCTURE = {
    "tranches": [
        {"name": "Senior", "share": "0.85", "coupon_bp": 280},
        {"name": "Junior", "share": "0.15", "coupon_bp": 600},
    ],
    "fees_bp": 30,
}


def projection(run: Run) -> None:
    if run.locked_pool_id is None:
        raise Skip("no pool was locked by this run: the pool step did not finish")
    pool_id = run.locked_pool_id
    desk = run.as_("securitization")
    out = desk.create_pool_projection(
        pool_id, {"scenario": SCENARIO, "structure": STRUCTURE, "breakeven": True}
    )
    run.out.did(
        f"projection {out.id}: {len(out.rows)} months from the cut-off "
        f"{out.cut_off_date}, CPR 8%, CDR 3%, 40% recovered 6 months later"
    )
    for tranche in out.tranches:
        run.out.fact(
            f"{tranche.name} ({cny(tranche.original_balance)})",
            f"WAL {tranche.wal_years} years, loss {cny(tranche.loss)}, principal paid "
            f"{tranche.first_payment_date} … {tranche.last_payment_date}",
        )
    breakeven = str(out.breakeven_cdr) if out.breakeven_cdr is not None else "none up to 100%"
    run.out.fact("senior break-even CDR", breakeven, strong=True)
    chart = desk.get_pool_projection_chart(pool_id, out.id)
    path = Path(get_settings().var_dir) / "demo" / f"projection-{out.id}.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(chart, encoding="utf-8")
    run.out.did("chart drawn: tranche balances over time and the pool's monthly collections")
    run.out.fact("chart saved to", str(path), strong=True)
    run.out.fact(
        "and served at",
        f"{run.api.base_url}/v1/pools/{pool_id}/projections/{out.id}/chart.svg",
    )
