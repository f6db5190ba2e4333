"""``make bench``: the benchmark suite, every figure a ratio against the floor of the same run.

    python -m bench [--seconds 10] [--warmup 3] [--runs 1] [--only NAME ...] [--connections 16 64]

The floor (bench/floor_app.py) is measured first, then every HTTP scenario at the same
connection counts, then the in-process measurements. Every load run, the floor's included, is
preceded by a warm-up at the same connection count on requests of its own, whose figures are
kept apart (``warmup_*``): the targets are about a service that is up, and the first seconds
after a start, while each pooled connection plans its statements for the first time, are
reported beside them rather than mixed in. Results go to stdout as a table and to
bench/results/latest.json. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness, scenarios
from bench.setup import BenchDatabase

RESULTS = Path(__file__).resolve().parent / "results"


def _row(
    name: str,
    conns: int,
    result: harness.LoadResult,
    floor: harness.LoadResult,
    warmup: harness.LoadResult | None,
) -> dict:
    return {
        "scenario": name,
        "connections": conns,
        **result.as_dict(),
        "rps_ratio": result.rps / floor.rps,
        "p99_ratio": result.p99_ms / floor.p99_ms if floor.p99_ms else None,
        "warmup_rps": warmup.rps if warmup else None,
        "warmup_p99_ms": warmup.p99_ms if warmup else None,
    }


def _warm(
    base: str, requests: Callable[[], list[harness.Request]], conns: int, seconds: float
) -> harness.LoadResult | None:
    """The warm-up before a load run (none when ``seconds`` is 0), on ``requests()``."""
    if seconds <= 0:
        return None
    return harness.load(base, requests(), connections=conns, seconds=seconds)


def _print_http(rows: list[dict], targets: dict[str, scenarios.HttpScenario]) -> None:
    print()
    print(
        "| scenario | conns | req/s | × floor | p50 ms | p99 ms | p99 × floor "
        "| warm-up p99 ms | target | |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        scenario = targets.get(r["scenario"])
        verdict = ""
        target = ""
        if scenario is not None and scenario.min_rps_ratio is not None:
            target = f"≥{scenario.min_rps_ratio}× req/s"
            ok = r["rps_ratio"] >= scenario.min_rps_ratio
            if scenario.max_p99_ratio is not None:
                target += f", p99 ≤{scenario.max_p99_ratio}×"
                ok = ok and r["p99_ratio"] is not None and r["p99_ratio"] <= scenario.max_p99_ratio
            verdict = "ok" if ok else "MISS"
        p99_ratio = "" if r["p99_ratio"] is None else f"{r['p99_ratio']:.2f}"
        warm_p99 = "" if r["warmup_p99_ms"] is None else f"{r['warmup_p99_ms']:.1f}"
        print(
            f"| {r['scenario']} | {r['connections']} | {r['rps']:.0f} | {r['rps_ratio']:.2f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {p99_ratio} | {warm_p99} "
            f"| {target} | {verdict} |"
        )
        if r["errors"]:
            print(f"|   ↳ {r['errors']} errors of {r['requests']} requests | | | | | | | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 3)))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 1)))
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--only", nargs="*", default=None, help="scenario names (prefix match)")
    parser.add_argument("--skip-micro", action="store_true")
    args = parser.parse_args()

    def wanted(name: str) -> bool:
        return args.only is None or any(name.startswith(p) for p in args.only)

    started = time.monotonic()
    db = BenchDatabase.create()
    print(
        f"bench database: {db.display}; {args.seconds:.0f} s per load run, "
        f"after a {args.warmup:.0f} s warm-up, {args.runs} run(s) each, "
        f"connections {args.connections}",
        file=sys.stderr,
    )
    asyncio.run(db.prepare())

    rows: list[dict[str, Any]] = []
    floors: dict[int, harness.LoadResult] = {}
    pool = str(max(args.connections))
    floor_env = {"BENCH_FLOOR_DSN": db.libpq_url, "BENCH_POOL_SIZE": pool}
    with harness.server("bench.floor_app:app", floor_env) as base:
        floor_requests = scenarios.floor_requests()
        for conns in args.connections:
            warm = _warm(base, lambda: floor_requests, conns, args.warmup)
            runs = [
                harness.load(base, floor_requests, connections=conns, seconds=args.seconds)
                for _ in range(args.runs)
            ]
            floors[conns] = harness.median_result(runs)
            rows.append(
                _row(
                    "floor: insert one row (raw asyncpg)", conns, floors[conns], floors[conns], warm
                )
            )
            print(
                f"floor @{conns}: {floors[conns].rps:.0f} req/s, p99 {floors[conns].p99_ms:.1f} ms",
                file=sys.stderr,
            )

    app_env = {
        "IPLEDGE_DATABASE_URL": db.async_url,
        "IPLEDGE_DB_POOL_SIZE": pool,
        "IPLEDGE_ACCESS_LOG": "false",
        "IPLEDGE_LOG_LEVEL": "WARNING",
    }
    by_name = {s.name: s for s in scenarios.HTTP}
    with harness.server("app.main:app_factory", app_env, factory=True) as base:
        for scenario in scenarios.HTTP:
            if not wanted(scenario.name):
                continue
            for conns in args.connections:
                warm_estimate = int(floors[conns].rps * args.warmup * 1.6) + 1000
                warm = _warm(
                    base,
                    lambda: asyncio.run(db.run(scenario.prepare, warm_estimate)),  # noqa: B023
                    conns,
                    args.warmup,
                )
                estimate = int(floors[conns].rps * args.seconds * 1.6) + 1000
                requests = asyncio.run(db.run(scenario.prepare, estimate))
                runs = []
                for _ in range(args.runs):
                    runs.append(
                        harness.load(base, requests, connections=conns, seconds=args.seconds)
                    )
                    if scenario.unique and args.runs > 1:
                        requests = asyncio.run(db.run(scenario.prepare, estimate))
                result = harness.median_result(runs)
                rows.append(_row(scenario.name, conns, result, floors[conns], warm))
                print(
                    f"{scenario.name} @{conns}: {result.rps:.0f} req/s "
                    f"({result.rps / floors[conns].rps:.2f}× floor), p99 {result.p99_ms:.1f} ms",
                    file=sys.stderr,
                )

    micro: list[dict[str, Any]] = []
    if not args.skip_micro:
        for measure in scenarios.MICRO:
            if wanted(measure.name):
                print(f"measuring {measure.name}…", file=sys.stderr)
                micro.extend(asyncio.run(db.run(measure.run)))

    _print_http(rows, by_name)
    if micro:
        print()
        print("| measurement | figure | target | |")
        print("|---|---|---|---|")
        for m in micro:
            print(
                f"| {m['name']} | {m['figure']} | {m.get('target', '')} | {m.get('verdict', '')} |"
            )

    RESULTS.mkdir(exist_ok=True)
    report = {
        "at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "runs": args.runs,
        "http": rows,
        "micro": micro,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"\n(bench/results/latest.json; {report['elapsed_s']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
