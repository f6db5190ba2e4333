"""``make soak`` (``python -m bench.soak``): load with faults against a throw-away deployment on
127.0.0.1, then an audit of what the database and the webhook receiver hold.

The deployment: its own PostgreSQL (``var/soak/pgdata``, port 55432 or a free one), two
``ipledge serve`` processes, two ``ipledge worker`` processes and a signature-checking webhook
receiver. The load runs open-loop at a fixed rate while PostgreSQL is restarted, the receiver
is down, a worker and then an API process are SIGKILLed; then the workers drain and the audit
runs. Exit status 1 when any check fails. Bounded: the whole run has a hard deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.core.clock import business_date
from app.webhooks.events import EVENT_TYPES
from bench.harness import ROOT
from bench.soak import audit, procs, report
from bench.soak.cluster import Cluster, free_port
from bench.soak.faults import Faults, Plan
from bench.soak.stories import DISTRICT
from bench.soak.workload import Workload

ROLES = (
    ("admin", None),
    ("bank_system", None),
    ("credit_officer", None),
    ("district_bureau", DISTRICT),
)
# Small enough that interest payments exhaust it within the run: the budget check then binds.
BUDGET = "30000.00"


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument(
        "--rate",
        type=float,
        default=_env("SOAK_RATE", 25),
        help="requests per second (env SOAK_RATE; default 25)",
    )
    parser.add_argument(
        "--receiver-down",
        type=float,
        default=_env("SOAK_RECEIVER_DOWN_S", 60),
        help="seconds the webhook receiver is down (env SOAK_RECEIVER_DOWN_S)",
    )
    parser.add_argument(
        "--pg-down",
        type=float,
        default=_env("SOAK_PG_DOWN_S", 5),
        help="seconds PostgreSQL stays stopped (env SOAK_PG_DOWN_S)",
    )
    parser.add_argument(
        "--tail",
        type=float,
        default=_env("SOAK_TAIL_S", 120),
        help="seconds of load after the last fault (env SOAK_TAIL_S)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=_env("SOAK_MAX_S", 900),
        help="hard deadline for the whole run (env SOAK_MAX_S)",
    )
    parser.add_argument("--workers", type=int, default=2, help="ipledge worker processes")
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--api-ports", default="18801,18802")
    return parser.parse_args()


def plan_for(opts: argparse.Namespace) -> tuple[Plan, float]:
    """The faults in sequence, each 30 s after the previous one has healed (so its recovery is
    measured on its own), and the load's length."""
    plan = Plan(pg_at=30, pg_down_s=opts.pg_down)
    plan.receiver_at = plan.pg_at + plan.pg_down_s + 30
    plan.receiver_down_s = opts.receiver_down
    plan.worker_at = plan.receiver_at + plan.receiver_down_s + 30
    plan.api_at = plan.worker_at + plan.worker_down_s + 30
    return plan, plan.api_at + plan.api_down_s + opts.tail


async def admin_setup(base: str, admin: str, receiver_url: str, secret_file: Path) -> str:
    """What an admin sets up before lending: an LPR fixing, the Longgang interest-subsidy
    programme with a small budget, and the bureau's webhook endpoint for every event type."""
    today = business_date(datetime.now(UTC))
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:

        async def call(method: str, path: str, body: dict) -> dict:
            response = await client.request(method, path, json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            return response.json()

        await call("PUT", "/v1/lpr/2026-11-20", {"one_year_bp": 300, "five_year_bp": 350})
        await call(
            "POST",
            "/v1/subsidy-programs",
            {
                "district_code": DISTRICT,
                "kind": "interest_subsidy",
                "name": "Longgang IP-pledge interest subsidy (soak)",
                "share": "0.50",
                "cap_per_loan": "100000.00",
                "annual_budget": BUDGET,
                "budget_year": today.year,
                "effective_from": f"{today.year}-01-01",
                "effective_to": f"{today.year}-12-31",
            },
        )
        endpoint = await call(
            "POST",
            "/v1/webhook-endpoints",
            {"url": receiver_url, "event_types": list(EVENT_TYPES)},
        )
    await asyncio.to_thread(secret_file.write_text, endpoint["secret"])
    return endpoint["id"]


async def soak(opts: argparse.Namespace, root: Path) -> int:
    plan, duration = plan_for(opts)
    logs = root / "logs"
    await asyncio.to_thread(shutil.rmtree, logs, True)  # this run's logs only
    cluster = Cluster(root, free_port(opts.pg_port))
    print(f"soak: PostgreSQL cluster in {cluster.pgdata} on 127.0.0.1:{cluster.port}", flush=True)
    await asyncio.to_thread(cluster.init)
    await asyncio.to_thread(cluster.start)
    running: list[procs.Proc] = []
    try:
        await cluster.create_database()
        env = procs.service_env(cluster.url)
        await asyncio.to_thread(procs.run_cli, env, "migrate")
        keys = {}
        for role, subject in ROLES:
            args = ["keys", "create", "--role", role, "--json", "--name", "soak"]
            out = await asyncio.to_thread(
                procs.run_cli, env, *args, *(["--subject", subject] if subject else [])
            )
            keys[role] = json.loads(out)["key"]
        ports = [free_port(int(p)) for p in opts.api_ports.split(",")]
        receiver_port = free_port(18810)
        secret_file, record_file = root / "webhook-secret", root / "deliveries.jsonl"
        for stale in (secret_file, record_file):  # a previous run's, which would not match
            stale.unlink(missing_ok=True)
        receiver = procs.receiver(receiver_port, secret_file, record_file, logs)
        apis = [procs.api(i, port, env, logs) for i, port in enumerate(ports)]
        workers = [procs.worker(i, env, logs) for i in range(opts.workers)]
        for proc in (receiver, *apis, *workers):
            proc.start()
            running.append(proc)
        for proc in running:
            await asyncio.to_thread(proc.wait_ready)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        endpoint_id = await admin_setup(
            bases[0], keys["admin"], f"http://127.0.0.1:{receiver_port}/hooks", secret_file
        )
        print(
            f"soak: {len(apis)} API processes ({', '.join(bases)}), {len(workers)} workers, "
            f"receiver :{receiver_port}; load {duration:g} s at {opts.rate:g} req/s",
            flush=True,
        )
        today = business_date(datetime.now(UTC))
        workload = Workload(bases, keys, opts.rate, today)
        faults = Faults(plan, workload, cluster, apis, workers, receiver)
        load_started = time.monotonic()
        await asyncio.gather(workload.run(duration), faults.run())
        print(
            f"soak: load stopped after {time.monotonic() - load_started:.0f} s; "
            "waiting for in-flight requests and retries",
            flush=True,
        )
        await workload.finish(grace=20)
        drained = await audit.drain(cluster.url, min_wait=12, limit=180)
        await faults.settle()
        print(f"soak: webhook backlog drained in {drained:.0f} s; auditing", flush=True)
        checks = await audit.run(cluster.url, workload, endpoint_id, record_file)
        summary = report.summary(opts, plan, duration, workload, faults, checks, running)
    finally:
        for proc in running:
            await asyncio.to_thread(proc.stop)
        if cluster.running():
            await asyncio.to_thread(cluster.stop, "fast")
    report.show(summary)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (root / "summary.json", ROOT / "bench" / "results" / f"soak-{stamp}.json"):
        report.write(summary, path)
    print(f"soak: summary written to {root / 'summary.json'} and bench/results/soak-{stamp}.json")
    return 0 if summary["passed"] else 1


def main() -> int:
    opts = options()
    root = ROOT / "var" / "soak"
    root.mkdir(parents=True, exist_ok=True)

    async def bounded() -> int:
        async with asyncio.timeout(opts.max_seconds):
            return await soak(opts, root)

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        print(
            f"soak: FAILED, the run outlasted its {opts.max_seconds:g} s deadline", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
