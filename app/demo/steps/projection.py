"""Step 11: the locked pool's cash flows projected under a stress scenario, with a senior and a
junior tranche, the senior's break-even default rate, and the chart of it (SPEC 3.9a)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _demo_pool(run: Run, desk: str) -> dict[str, Any]:
    """The pool the previous step locked: the newest locked pool of today's demo name, whose
    target is the demo loan's balance."""
    prefix = f"Nanshan IP ABS demo {run.today:%Y%m%d}"
    pools: list[dict[str, Any]] = run.api.get("/v1/pools", desk, state="locked", limit=20)["items"]
    for pool in pools:
        if pool["name"].startswith(prefix) and pool["target_balance"] == run.loan.get(
            "outstanding_principal"
        ):
            return pool
    raise Skip("no pool was locked by this run: the pool step did not finish")


def projection(run: Run) -> None:
    desk = run.key("securitization")
    pool = _demo_pool(run, desk)
    pool_id = pool["id"]
    body = {"scenario": SCENARIO, "structure": STRUCTURE, "breakeven": True}
    out = run.api.post(f"/v1/pools/{pool_id}/projections", desk, body)
    run.out.did(
        f"projection {out['id']}: {len(out['rows'])} months from the cut-off "
        f"{out['cut_off_date']}, CPR 8%, CDR 3%, 40% recovered 6 months later"
    )
    for tranche in out["tranches"]:
        run.out.fact(
            f"{tranche['name']} ({cny(tranche['original_balance'])})",
            f"WAL {tranche['wal_years']} years, loss {cny(tranche['loss'])}, principal paid "
            f"{tranche['first_payment_date']} … {tranche['last_payment_date']}",
        )
    run.out.fact("senior break-even CDR", out["breakeven_cdr"] or "none up to 100%", strong=True)
    location = f"/v1/pools/{pool_id}/projections/{out['id']}/chart.svg"
    chart = run.api.request("GET", location, key=desk, expect=(200,), accept="image/svg+xml")
    path = Path(get_settings().var_dir) / "demo" / f"projection-{out['id']}.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart.content)
    run.out.did("chart drawn: tranche balances over time and the pool's monthly collections")
    run.out.fact("chart saved to", str(path), strong=True)
    run.out.fact("and served at", f"{run.api.base_url}{location}")
