"""The soak's summary: request figures, each fault's recovery, each audit check's verdict."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.soak.audit import Check
from bench.soak.faults import Faults, Plan, callers_view
from bench.soak.procs import RETRY_SCHEDULE_S, Proc
from bench.soak.workload import Workload


def _requests(workload: Workload) -> dict[str, Any]:
    ops = workload.ops
    attempts = [a for op in ops for a in op.attempts]
    recovered = [op for op in ops if op.acked and len(op.attempts) > 1]
    by_kind: dict[str, dict[str, int]] = {}
    for op in ops:
        row = by_kind.setdefault(op.step.kind, {"operations": 0, "acknowledged": 0})
        row["operations"] += 1
        row["acknowledged"] += op.acked
    failures = Counter(
        a.outcome if a.outcome != "status" else str(a.status) for a in attempts if a.outcome != "ok"
    )
    latencies = sorted(a.done - a.sent for a in attempts if a.outcome == "ok")
    return {
        "operations": len(ops),
        "sent": len(attempts),
        "acknowledged": sum(a.outcome == "ok" for a in attempts),
        "failed": sum(a.outcome != "ok" for a in attempts),
        "failed_by_cause": dict(failures),
        "recovered": len(recovered),
        "operations_never_acknowledged": sum(not op.acked for op in ops),
        "expected_refusals": sum(
            1 for op in ops if not op.acked and op.refused == op.step.expect_refusal
        ),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
        "by_kind": by_kind,
        "stories": len(workload.stories),
        "loans": sum(1 for s in workload.stories if s.loan_id),
    }


def _faults(faults: Faults, workload: Workload) -> list[dict[str, Any]]:
    attempts = [a for op in workload.ops for a in op.attempts]
    out = []
    for i, fault in enumerate(faults.done):
        api = fault.details.get("api")
        until = fault.back + 30
        if i + 1 < len(faults.done):
            until = min(until, faults.done[i + 1].began)
        row = {
            "fault": fault.name,
            "at_s": round(fault.began, 1),
            "component_back_after_s": round(fault.back - fault.began, 2),
            **fault.details,
            "callers": callers_view(fault, attempts, until, api),
        }
        if api is not None:
            row["callers_other_api"] = callers_view(fault, attempts, until, 1 - api)
        out.append(row)
    return out


def summary(
    opts: argparse.Namespace,
    plan: Plan,
    duration: float,
    workload: Workload,
    faults: Faults,
    checks: list[Check],
    running: list[Proc],
) -> dict[str, Any]:
    return {
        "passed": all(c.passed for c in checks),
        "setup": {
            "api_processes": 2,
            "workers": opts.workers,
            "rate_per_s": opts.rate,
            "load_s": duration,
            "client_timeout_s": 5,
            "webhook_retry_schedule_s": RETRY_SCHEDULE_S,
            "plan": asdict(plan),
            "restarts": {p.name: p.starts - 1 for p in running},
        },
        "requests": _requests(workload),
        "faults": _faults(faults, workload),
        "checks": [asdict(c) for c in checks],
    }


def show(s: dict[str, Any]) -> None:
    r = s["requests"]
    print("\n== soak summary ==")
    print(
        f"setup: {s['setup']['api_processes']} API, {s['setup']['workers']} workers, "
        f"{s['setup']['rate_per_s']:g} req/s for {s['setup']['load_s']:g} s"
    )
    rows = [
        ("requests sent", r["sent"]),
        ("acknowledged (2xx)", r["acknowledged"]),
        ("failed (status, timeout, connection)", r["failed"]),
        ("  by cause", ", ".join(f"{k}: {v}" for k, v in r["failed_by_cause"].items()) or "-"),
        ("operations", r["operations"]),
        ("recovered (retried, same key, then 2xx)", r["recovered"]),
        ("operations never acknowledged", r["operations_never_acknowledged"]),
        ("  of which refusals sent on purpose", r["expected_refusals"]),
        ("latency of 2xx p50 / p99 ms", f"{r['p50_ms']} / {r['p99_ms']}"),
        ("stories / loans", f"{r['stories']} / {r['loans']}"),
    ]
    for label, value in rows:
        print(f"  {label:<44} {value}")
    print("\nfaults:")
    for f in s["faults"]:
        c = f["callers"]
        extra = ""
        if "backlog_delivered_after_back_s" in f:
            extra = f"; its backlog delivered {f['backlog_delivered_after_back_s']} s after"
        if "events_in_hand_delivered_s" in f:
            extra = f"; events in hand delivered {f['events_in_hand_delivered_s']} s after kill"
        print(
            f"  {f['fault']:<32} at {f['at_s']:>6} s: back after {f['component_back_after_s']} s; "
            f"requests ok again after {c['recovered_after_s']} s; failed {c['failed_requests']} "
            f"(503 problem {c['503_problem_json']}, 500 {c['500']}, timeouts {c['timeouts']}, "
            f"connection {c['connection_errors']}){extra}"
        )
        if "callers_other_api" in f:
            other = f["callers_other_api"]
            print(f"  {'':<32} meanwhile the other API process failed {other['failed_requests']}")
    print("\naudit:")
    for c in s["checks"]:
        verdict = "PASS" if c["passed"] else "FAIL"
        print(f"  {verdict}  {c['name']:<28} {c['detail']}")
    print(f"\nsoak: {'PASSED' if s['passed'] else 'FAILED'}")


def write(s: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(s, indent=2, ensure_ascii=False) + "\n")
