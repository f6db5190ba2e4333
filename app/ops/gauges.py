"""The business gauges, computed by the worker on a schedule (``JOBS`` in ``app.worker``) and
kept in ``metrics.BUSINESS``, which the worker's listener serves: a scrape reads numbers
already computed and never queries the database. Each provider runs on one connection; adding
one is one entry in ``PROVIDERS`` and its gauges one entry in ``GAUGES``, which ``register``
(called as the worker starts) adds to the registry: nothing registers itself on import."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.registry import Collector

from app.applications import gauges as application_gauges
from app.core.db import Db
from app.core.runtime import Runtime
from app.webhooks import metrics as webhook_metrics

Provider = Callable[[Db], Awaitable[None]]

PROVIDERS: tuple[Provider, ...] = (
    application_gauges.application_gauges,
    webhook_metrics.webhook_gauges,
)

UPDATED = Gauge(
    "ipledge_business_gauges_updated_timestamp_seconds",
    "When this worker last computed the business gauges (Unix time).",
    registry=None,
)

GAUGES: tuple[Collector, ...] = (*application_gauges.GAUGES, *webhook_metrics.GAUGES, UPDATED)
_registered_with: list[CollectorRegistry] = []


def register(registry: CollectorRegistry) -> None:
    """Add every business gauge to ``registry`` (once, however often it is called)."""
    if any(known is registry for known in _registered_with):
        return
    for gauge in GAUGES:
        registry.register(gauge)
    _registered_with.append(registry)


async def refresh(runtime: Runtime) -> None:
    async with runtime.database.connection() as db:
        for provider in PROVIDERS:
            await provider(db)
    UPDATED.set(time.time())
