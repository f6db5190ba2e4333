"""Step 10: a small securitisation pool built from the new loan, locked at today's cut-off,
and its loan-level data tape exported as CSV (SPEC 3.9)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from uuid import UUID

from app.config import get_settings
from app.demo.console import cny, count
from app.demo.identities import ENTERPRISE
from app.demo.state import DISTRICT, Run, Skip

# One new loan from one enterprise makes a one-obligor pool: the default limits (10% a
# obligor, 40% an industry) would keep it empty. A real pool keeps them.
DEMO_LIMITS = {
    "max_obligor_share": "1.00",
    "max_industry_share": "1.00",
    "max_district_share": "1.00",
}


def pool(run: Run) -> None:
    assert run.loan is not None
    desk = run.as_("securitization")
    target = run.loan.outstanding_principal
    created = desk.create_pool(
        {
            "name": f"Nanshan IP ABS demo {run.today:%Y%m%d}-{run.rng.randint(0, 9999):04d}",
            "cut_off_date": run.today,
            "target_balance": target,
            "criteria": {
                "districts": [DISTRICT],
                "industries": [ENTERPRISE["industry"]],
                "min_remaining_months": 3,
            },
            "limits": DEMO_LIMITS,
        }
    )
    pool_id = created.id
    run.out.did(f"pool {created.name} ({pool_id}) opened: target {cny(target)}, cut-off today")
    run.out.info("limits set to 100% for this one-obligor demo; real pools keep 10% / 40% / 100%")
    selection = desk.select_pool_loans(pool_id)
    run.out.did(
        f"selection by {selection.solver} in {selection.solve_ms} ms: "
        f"{count(selection.selected_count, 'loan')}, {cny(selection.selected_balance)}"
    )
    run.out.fact("best any selection could reach", cny(selection.bound_balance))
    run.out.fact("gap", str(selection.gap))
    if not selection.selected_count:
        raise Skip("no eligible loan: the pool stays open and empty")
    locked = desk.lock_pool(pool_id)
    run.locked_pool_id = pool_id
    run.out.did(f"pool {locked.state}: membership and cut-off balances frozen")
    stats = desk.get_pool(pool_id).stats
    run.out.fact(
        "loans, obligors",
        f"{count(stats.loan_count, 'loan')}, {count(stats.obligor_count, 'obligor')}",
    )
    run.out.fact("outstanding principal", cny(stats.outstanding_principal), strong=True)
    run.out.fact(
        "weighted averages",
        f"rate {stats.wa_rate_bp} bp, {stats.wa_remaining_months} months remaining, "
        f"coverage {stats.wa_coverage}",
    )
    run.out.fact("largest obligor share", str(stats.max_obligor_share))
    _export_tape(run, pool_id)


def _export_tape(run: Run, pool_id: UUID) -> None:
    tape = run.as_("securitization").export_pool_tape(pool_id)
    rows = list(csv.reader(io.StringIO(tape)))
    header, records = (rows[0], rows[1:]) if rows else ([], [])
    path = Path(get_settings().var_dir) / "demo" / f"tape-{pool_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tape, encoding="utf-8")
    run.out.did(
        f"data tape exported: {count(len(records), 'row')} of {count(len(header), 'column')}"
    )
    run.out.fact("saved to", str(path), strong=True)
