"""``make bench``: the benchmark suite, every figure a ratio against the floor of the same run.

    python -m bench [--seconds 5] [--pairs 3] [--warmup 3] [--pool N] [--only NAME ...]

Every HTTP scenario is measured in pairs with the floor (bench/floor_app.py): a load run of the
floor, then one of the scenario (the next pair the other way round), ``--pairs`` times at each
connection count; a ratio is the median of the pairs' ratios. The machine's own speed drifts by
a fifth and more over a few minutes here; a floor measured once at the start would put that
drift into every ratio after it, while a pair's two runs are seconds apart. Each server holds
one database connection per client connection (``--pool``, the most connections measured), so
only one is up at a time: the two pools would not fit in the database's connections together.
After each start a server is warmed up at the same connection count on requests of its own,
whose figures are kept apart (``warmup_*``): the targets are about a service that is up, and
the first seconds after a start, while each pooled connection plans its statements for the
first time, are reported beside them rather than mixed in. Each load run also counts the CPU
it cost per request, the server's process and PostgreSQL's processes on this machine
(``harness.CpuWatch``), with its ratio to the floor's: on two cores shared with the database and
wrk, throughput follows that cost, and the split says whether the server or the database spends
it. Then come the in-process measurements. Results go to stdout as a table and to
bench/results/latest.json. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from app.cli import SERVE_LOOP
from bench import harness, scenarios
from bench.setup import BenchDatabase

RESULTS = Path(__file__).resolve().parent / "results"


def _row(
    name: str,
    conns: int,
    pairs: list[tuple[harness.LoadResult, harness.LoadResult]],
    warmup: harness.LoadResult | None,
) -> dict:
    """A scenario's row from its (floor, scenario) pairs: medians, and the median of the
    pairs' ratios."""
    med = statistics.median
    runs = [s for _, s in pairs]
    return {
        "scenario": name,
        "connections": conns,
        "rps": med(r.rps for r in runs),
        "p50_ms": med(r.p50_ms for r in runs),
        "p99_ms": med(r.p99_ms for r in runs),
        "requests": sum(r.requests for r in runs),
        "errors": sum(r.errors for r in runs),
        "floor_rps": med(f.rps for f, _ in pairs),
        "floor_p99_ms": med(f.p99_ms for f, _ in pairs),
        "rps_ratio": med(s.rps / f.rps for f, s in pairs),
        "p99_ratio": med(s.p99_ms / f.p99_ms for f, s in pairs)
        if all(f.p99_ms for f, _ in pairs)
        else None,
        # CPU per request (the server's and PostgreSQL's), and its ratio to the floor's: the
        # cost whose effect the throughput ratio is.
        "server_cpu_ms": _median_of(s.server_cpu_ms for s in runs),
        "db_cpu_ms": _median_of(s.db_cpu_ms for s in runs),
        "floor_cpu_ms": _median_of(f.cpu_ms for f, _ in pairs),
        "cpu_ratio": _median_of(
            s.cpu_ms / f.cpu_ms if s.cpu_ms is not None and f.cpu_ms else None for f, s in pairs
        ),
        "pairs": [{"floor": f.as_dict(), "scenario": s.as_dict()} for f, s in pairs],
        "warmup_rps": warmup.rps if warmup else None,
        "warmup_p99_ms": warmup.p99_ms if warmup else None,
    }


def _median_of(values: Iterable[float | None]) -> float | None:
    """The median, or None when any value is missing (a figure from some pairs only would
    not be the same measurement)."""
    got = list(values)
    if not got or any(v is None for v in got):
        return None
    return statistics.median(v for v in got if v is not None)


def _warm(
    base: str, requests: Callable[[], list[harness.Request]], conns: int, seconds: float
) -> harness.LoadResult | None:
    """The warm-up before a load run (none when ``seconds`` is 0), on ``requests()``."""
    if seconds <= 0:
        return None
    return harness.load(base, requests(), connections=conns, seconds=seconds)


def _prepared(db: BenchDatabase, scenario: scenarios.HttpScenario, n: int) -> list[harness.Request]:
    return asyncio.run(db.run(scenario.prepare, n))


class _Servers:
    """The floor's server or the service's, one at a time: their pools (one connection per
    client connection) would not fit in the database's connections together. Each is warmed
    up after it starts."""

    def __init__(
        self, specs: dict[str, tuple[str, dict[str, str], bool, str]], *, pool: int
    ) -> None:
        self.specs = specs
        self.pool = str(pool)
        self.up: str | None = None
        self.base = ""
        self.pid: int | None = None  # the server's process, for its CPU per request
        self.stack: ExitStack | None = None

    def use(
        self, name: str, warm: Callable[[str], harness.LoadResult | None]
    ) -> tuple[str, harness.LoadResult | None]:
        """The base URL of ``name``'s server, started (and warmed up) unless it is up."""
        if self.up == name:
            return self.base, None
        self.close()
        app, env, factory, loop = self.specs[name]
        pool_env = {"BENCH_POOL_SIZE": self.pool, "IPLEDGE_DB_POOL_SIZE": self.pool}
        self.stack = ExitStack()
        self.base, proc = self.stack.enter_context(
            harness.server_process(app, {**env, **pool_env}, factory=factory, loop=loop)
        )
        self.pid = proc.pid
        self.up = name
        return self.base, warm(self.base)

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
        self.stack, self.up, self.pid = None, None, None


def _measure(
    servers: _Servers,
    db: BenchDatabase,
    scenario: scenarios.HttpScenario,
    floor_requests: list[harness.Request],
    conns: int,
    args: argparse.Namespace,
) -> dict:
    """``args.pairs`` pairs of load runs, floor then scenario and the next pair the other way
    round; the scenario's requests sized for 1.6 times the floor's pace (each is sent once)."""

    def run(base: str, requests: list[harness.Request]) -> harness.LoadResult:
        return harness.load(
            base, requests, connections=conns, seconds=args.seconds, server_pid=servers.pid
        )

    def warm_floor(base: str) -> harness.LoadResult | None:
        return _warm(base, lambda: floor_requests, conns, args.warmup)

    pace = 0.0
    warmed: harness.LoadResult | None = None
    requests: list[harness.Request] | None = None
    pairs = []
    for i in range(args.pairs):
        got: dict[str, harness.LoadResult] = {}
        for side in ("floor", "scenario") if i % 2 == 0 else ("scenario", "floor"):
            if side == "floor":
                base, _ = servers.use("floor", warm_floor)
                got["floor"] = run(base, floor_requests)
                pace = got["floor"].rps
                continue
            if requests is None or scenario.unique:
                requests = _prepared(db, scenario, int(pace * args.seconds * 1.6) + 1000)
            warm_requests = partial(_prepared, db, scenario, int(pace * args.warmup * 1.6) + 1000)
            base, warm = servers.use(
                "service", partial(_warm, requests=warm_requests, conns=conns, seconds=args.warmup)
            )
            warmed = warmed or warm
            got["scenario"] = run(base, requests)
        pairs.append((got["floor"], got["scenario"]))
    return _row(scenario.name, conns, pairs, warmed)


def _print_http(rows: list[dict], targets: dict[str, scenarios.HttpScenario]) -> None:
    print()
    print(
        "| scenario | conns | req/s | × floor | p50 ms | p99 ms | p99 × floor "
        "| floor req/s | floor p99 ms | warm-up p99 ms | CPU ms/req (server + db) | CPU × floor "
        "| target | |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
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
        cpu = ""
        if r.get("server_cpu_ms") is not None and r.get("db_cpu_ms") is not None:
            cpu = f"{r['server_cpu_ms']:.2f} + {r['db_cpu_ms']:.2f}"
        cpu_ratio = "" if r.get("cpu_ratio") is None else f"{r['cpu_ratio']:.2f}"
        print(
            f"| {r['scenario']} | {r['connections']} | {r['rps']:.0f} | {r['rps_ratio']:.2f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {p99_ratio} | {r['floor_rps']:.0f} "
            f"| {r['floor_p99_ms']:.1f} | {warm_p99} | {cpu} | {cpu_ratio} | {target} "
            f"| {verdict} |"
        )
        if r["errors"]:
            print(f"|   ↳ {r['errors']} errors of {r['requests']} requests |" + " |" * 13)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--pairs", type=int, default=int(os.environ.get("BENCH_PAIRS", 3)))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 3)))
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--pool",
        type=int,
        default=int(os.environ.get("BENCH_POOL", 0)) or None,
        help="database connections of each server (default: the most connections measured)",
    )
    parser.add_argument("--only", nargs="*", default=None, help="scenario names (prefix match)")
    parser.add_argument("--skip-micro", action="store_true")
    args = parser.parse_args()

    def wanted(name: str) -> bool:
        return args.only is None or any(name.startswith(p) for p in args.only)

    started = time.monotonic()
    db = BenchDatabase.create()
    print(
        f"bench database: {db.display}; {args.seconds:.0f} s per load run, "
        f"after a {args.warmup:.0f} s warm-up, {args.pairs} pair(s) with the floor each, "
        f"connections {args.connections}, a pool of {args.pool or max(args.connections)}",
        file=sys.stderr,
    )
    asyncio.run(db.prepare())

    rows: list[dict[str, Any]] = []
    pool = args.pool or max(args.connections)
    asyncio.run(db.require_connections(pool + 8))
    servers = _Servers(
        {
            "floor": ("bench.floor_app:app", {"BENCH_FLOOR_DSN": db.libpq_url}, False, "uvloop"),
            "service": (
                "app.main:app_factory",
                {
                    "IPLEDGE_DATABASE_URL": db.async_url,
                    "IPLEDGE_ACCESS_LOG": "false",
                    "IPLEDGE_LOG_LEVEL": "WARNING",
                },
                True,
                SERVE_LOOP,
            ),
        },
        pool=pool,
    )
    by_name = {s.name: s for s in scenarios.HTTP}
    floor_requests = scenarios.floor_requests()
    try:
        for scenario in scenarios.HTTP:
            if not wanted(scenario.name):
                continue
            for conns in args.connections:
                row = _measure(servers, db, scenario, floor_requests, conns, args)
                rows.append(row)
                print(
                    f"{scenario.name} @{conns}: {row['rps']:.0f} req/s "
                    f"({row['rps_ratio']:.2f}× floor at {row['floor_rps']:.0f}), "
                    f"p99 {row['p99_ms']:.1f} ms ({row['p99_ratio'] or 0:.2f}× floor)",
                    file=sys.stderr,
                )
    finally:
        servers.close()

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
        "pairs": args.pairs,
        "pool": args.pool or max(args.connections),
        "http": rows,
        "micro": micro,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"\n(bench/results/latest.json; {report['elapsed_s']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
