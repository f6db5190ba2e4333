"""Prometheus metrics: HTTP traffic, plus business gauges read from the database at scrape time.

Domains register gauge providers with ``@business_gauges``; ``/metrics`` runs them all on one
connection. Each API or worker process exposes its own HTTP counters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from app.core.batch import Totals
from app.core.db import Db

REGISTRY = CollectorRegistry(auto_describe=True)

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


class _BatchCollector(Collector):
    """The batcher's counters (``app.core.batch``), read at scrape time."""

    def collect(self) -> Any:
        for name, help_text, attribute in (
            ("ipledge_db_batches", "Round trips of the statement batcher.", "batches"),
            (
                "ipledge_db_batched_statements",
                "Statements sent through the batcher (÷ batches: the mean batch size).",
                "statements",
            ),
            (
                "ipledge_db_batch_replays",
                "Batches rolled back by a failing statement and run again one by one.",
                "replays",
            ),
        ):
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], getattr(Totals, attribute))
            yield family


REGISTRY.register(_BatchCollector())

GaugeProvider = Callable[[Db], Awaitable[None]]
_providers: list[GaugeProvider] = []


def business_gauges(provider: GaugeProvider) -> GaugeProvider:
    _providers.append(provider)
    return provider


# The labelled series a process has used, by their labels: ``labels()`` checks and copies its
# arguments on every call, a noticeable part of a cheap request.
_requests: dict[tuple[str, str, int], Any] = {}
_durations: dict[tuple[str, str], Any] = {}


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


async def render(db: Db) -> bytes:
    for provider in _providers:
        await provider(db)
    return generate_latest(REGISTRY)
