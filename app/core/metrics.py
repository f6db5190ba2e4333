"""Prometheus metrics of this process: HTTP traffic, problems answered, the database pool and
the statement batcher. Rendering them never touches the database, so ``/metrics`` answers
while the database is down.

Business gauges (applications by state, the webhook backlog…) are not computed here: the
worker computes them on a schedule and publishes them on its own listener (``app.ops.gauges``),
so a scrape costs no query.

Several processes (``ipledge serve --workers N``): prometheus_client's multiprocess mode. When
``PROMETHEUS_MULTIPROC_DIR`` is set (``serve`` sets it for N > 1), every process writes its
values to files there and any process's ``/metrics`` answers the sum over all of them, so
counters no longer alternate between scrapes. Values read from a process's own objects (the
pool, the batcher) are copied into such metrics by ``sample()``: at every scrape for the
scraped process, and every few seconds for the others (``sample_forever``).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from app.core.batch import Totals

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)
# The business gauges, set by the worker's gauges job and served by the worker only.
BUSINESS = CollectorRegistry(auto_describe=True)
SAMPLE_INTERVAL_S = 5.0

HTTP_REQUESTS = Counter(
    "ipledge_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "ipledge_http_request_duration_seconds",
    "HTTP request duration by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
PROBLEMS = Counter(
    "ipledge_problems_total",
    "Problem responses (RFC 9457) by problem type and status: 503 lock-timeout, "
    "service-unavailable and internal-error are the ones to alert on.",
    ["type", "status"],
    registry=REGISTRY,
)
POOL_CONNECTIONS = Gauge(
    "ipledge_db_pool_connections",
    "Database connections of the process pools: in_use (checked out) and idle.",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "ipledge_db_pool_size",
    "Connections the process pools may hold (in_use reaching it means requests queue).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
BATCHES = Counter("ipledge_db_batches", "Round trips of the statement batcher.", registry=REGISTRY)
BATCHED_STATEMENTS = Counter(
    "ipledge_db_batched_statements",
    "Statements sent through the batcher (÷ batches: the mean batch size).",
    registry=REGISTRY,
)
BATCH_REPLAYS = Counter(
    "ipledge_db_batch_replays",
    "Batches rolled back by a failing statement and run again one by one.",
    registry=REGISTRY,
)

# The labelled series a process has used, by their labels: ``labels()`` checks and copies its
# arguments on every call, a noticeable part of a cheap request.
_requests: dict[tuple[str, str, int], Any] = {}
_durations: dict[tuple[str, str], Any] = {}
_problems: dict[tuple[str, int], Any] = {}
_pools: list[Any] = []
_copied = {"batches": 0, "statements": 0, "replays": 0}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    counter = _requests.get((method, route, status))
    if counter is None:
        counter = _requests[(method, route, status)] = HTTP_REQUESTS.labels(
            method, route, str(status)
        )
    counter.inc()
    histogram = _durations.get((method, route))
    if histogram is None:
        histogram = _durations[(method, route)] = HTTP_DURATION.labels(method, route)
    histogram.observe(seconds)


def count_problem(slug: str, status: int) -> None:
    counter = _problems.get((slug, status))
    if counter is None:
        counter = _problems[(slug, status)] = PROBLEMS.labels(slug, str(status))
    counter.inc()


def watch_pool(pool: Any) -> None:
    """Report this SQLAlchemy pool's usage (the process's engines register theirs)."""
    if pool not in _pools:
        _pools.append(pool)


def forget_pool(pool: Any) -> None:
    if pool in _pools:
        _pools.remove(pool)


def sample() -> None:
    """Copy the values this process keeps in its own objects into the metrics."""
    in_use = sum(pool.checkedout() for pool in _pools)
    idle = sum(pool.checkedin() for pool in _pools)
    POOL_CONNECTIONS.labels("in_use").set(in_use)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_SIZE.set(sum(pool.size() for pool in _pools))
    for name, counter in (
        ("batches", BATCHES),
        ("statements", BATCHED_STATEMENTS),
        ("replays", BATCH_REPLAYS),
    ):
        now = getattr(Totals, name)
        if now > _copied[name]:
            counter.inc(now - _copied[name])
            _copied[name] = now


async def sample_forever() -> None:
    while True:
        sample()
        await asyncio.sleep(SAMPLE_INTERVAL_S)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def render(extra: CollectorRegistry | None = None) -> bytes:
    """The text format: this process's metrics, or every process's in multiprocess mode;
    then ``extra``'s (the worker's business gauges)."""
    sample()
    if multiprocess():
        merged = CollectorRegistry()
        # prometheus_client's multiprocess module is not annotated.
        prometheus_multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        body = generate_latest(merged)
    else:
        body = generate_latest(REGISTRY)
    return body + generate_latest(extra) if extra is not None else body


def process_exited() -> None:
    """Multiprocess mode: drop this process's live gauges (the pool) from the sums."""
    if multiprocess():
        prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
