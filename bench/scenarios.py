"""The scenarios ``make bench`` measures. Each domain adds its own below."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.core.roles import Role
from bench import applications as applications_bench
from bench import calendar as calendar_bench
from bench import lending as lending_bench
from bench import loans as loans_bench
from bench import pools as pools_bench
from bench import pools_api as pools_api_bench
from bench import projections as projections_bench
from bench import reports as reports_bench
from bench import webhooks as webhooks_bench
from bench.harness import Request
from bench.setup import BenchSession


@dataclass(frozen=True)
class HttpScenario:
    name: str
    prepare: Callable[[BenchSession, int], Awaitable[list[Request]]]
    unique: bool = False  # every request may be sent once only (a fresh list per run)
    min_rps_ratio: float | None = None
    max_p99_ratio: float | None = None


@dataclass(frozen=True)
class Measurement:
    name: str
    run: Callable[[BenchSession], Awaitable[list[dict[str, Any]]]]


def floor_requests() -> list[Request]:
    body = json.dumps({"name": "acme", "amount": "100.25"})
    return [Request("POST", "/rows", {"Content-Type": "application/json"}, body)]


async def _healthz(session: BenchSession, n: int) -> list[Request]:
    return [Request("GET", "/healthz")]


async def _list_keys(session: BenchSession, n: int) -> list[Request]:
    key = await session.key(Role.ADMIN)
    return [Request("GET", "/v1/api-keys?limit=1", {"Authorization": f"Bearer {key}"})]


HTTP: list[HttpScenario] = [
    HttpScenario("GET /healthz (no database)", _healthz),
    HttpScenario("GET /v1/api-keys?limit=1 (auth + one read)", _list_keys),
    HttpScenario(
        "POST /v1/applications (create a draft)",
        applications_bench.create_requests,
        min_rps_ratio=0.7,
        max_p99_ratio=2.0,
    ),
    HttpScenario(
        "POST /v1/applications with an Idempotency-Key",
        applications_bench.create_with_key_requests,
        unique=True,
        min_rps_ratio=0.6,
        max_p99_ratio=2.0,
    ),
    HttpScenario(
        "POST /v1/applications/{id}/submit",
        applications_bench.submit_requests,
        unique=True,
        min_rps_ratio=0.5,
        max_p99_ratio=2.0,
    ),
    HttpScenario("GET /v1/applications/{id}", applications_bench.read_requests),
    HttpScenario(
        "POST /v1/applications/{id}/quotes",
        lending_bench.quote_requests,
        min_rps_ratio=0.5,
        max_p99_ratio=2.0,
    ),
    HttpScenario(
        "POST /v1/loans/{id}/repayments",
        lending_bench.repayment_requests,
        unique=True,
        min_rps_ratio=0.5,
        max_p99_ratio=2.0,
    ),
]

MICRO: list[Measurement] = [
    Measurement("deadline arithmetic", calendar_bench.deadline_arithmetic),
    Measurement("schedule generation, 60 months", loans_bench.schedule_generation),
    Measurement(pools_bench.NAME, pools_bench.pool_selection),
    Measurement(projections_bench.NAME, projections_bench.projections),
    Measurement("lists and the SLA sweep at 10k and 1M applications", applications_bench.at_scale),
    Measurement("webhooks: event write cost", webhooks_bench.event_write_cost),
    Measurement("webhooks: relay throughput", webhooks_bench.relay_throughput),
    Measurement("webhooks: relay memory", webhooks_bench.relay_memory),
    # Before the reports' book: its loans carry no schedule, so a pool would count them too.
    Measurement(pools_api_bench.SELECTION_NAME, pools_api_bench.selection_via_api),
    Measurement(pools_api_bench.TAPE_NAME, pools_api_bench.tape_export),
    Measurement(reports_bench.NAME, reports_bench.at_scale),
]
