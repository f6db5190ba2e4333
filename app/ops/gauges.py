"""The business gauges, computed by the worker on a schedule (``JOBS`` in ``app.worker``) and
kept in ``metrics.BUSINESS``, which the worker's listener serves: a scrape reads numbers
already computed and never queries the database. Each provider runs on one connection; adding
one is one entry in ``PROVIDERS``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from app.applications.gauges import application_gauges
from app.core.db import Db
from app.core.metrics import BUSINESS
from app.core.runtime import Runtime
from app.webhooks.metrics import webhook_gauges

Provider = Callable[[Db], Awaitable[None]]

PROVIDERS: tuple[Provider, ...] = (application_gauges, webhook_gauges)

UPDATED = Gauge(
    "ipledge_business_gauges_updated_timestamp_seconds",
    "When this worker last computed the business gauges (Unix time).",
    registry=BUSINESS,
)


async def refresh(runtime: Runtime) -> None:
    async with runtime.database.connection() as db:
        for provider in PROVIDERS:
            await provider(db)
    UPDATED.set(time.time())
