"""Webhook metrics: the backlog and its age (business gauges, computed by the worker's gauges job
and served on the worker's /metrics), and the attempts this process made, by outcome, with
their latency."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.registry import Collector

from app.core import metrics
from app.core.db import Db
from app.models.webhook_delivery import DeliveryStatus

BACKLOG = Gauge(
    "ipledge_webhook_backlog",
    "Webhook work outstanding: pending deliveries plus events not yet fanned out.",
    registry=None,
)
OLDEST_PENDING_AGE = Gauge(
    "ipledge_webhook_oldest_pending_age_seconds",
    "Age of the oldest event still waiting to be delivered (0 when none is).",
    registry=None,
)
DELIVERIES = Gauge(
    "ipledge_webhook_deliveries",
    "Webhook deliveries (one per event and endpoint) by status.",
    ["status"],
    registry=None,
)
# Registered by ``app.ops.gauges.register`` when the worker starts, not on import.
GAUGES: tuple[Collector, ...] = (BACKLOG, OLDEST_PENDING_AGE, DELIVERIES)

ATTEMPTS = Counter(
    "ipledge_webhook_attempts",
    "Delivery attempts made by this process, by outcome: delivered, rejected (a non-2xx "
    "answer), timeout, unreachable, refused (the URL resolved to a forbidden address), "
    "interrupted (the worker stopped before an answer).",
    ["outcome"],
    registry=metrics.REGISTRY,
)

LATENCY = Histogram(
    "ipledge_webhook_delivery_seconds",
    "Time from sending a webhook to its answer (or to giving up), by outcome.",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=metrics.REGISTRY,
)

_GAUGES_SQL = f"""
WITH by_status AS (
    SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status
), oldest AS (
    SELECT occurred_at FROM (
        (SELECT min(occurred_at) AS occurred_at FROM outbox_events WHERE dispatched_at IS NULL)
        UNION ALL
        (SELECT e.occurred_at FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
         WHERE d.status = '{DeliveryStatus.PENDING}' ORDER BY d.event_id LIMIT 1)
    ) candidates
)
-- Event ids are UUIDv7 taken as the event is written: the lowest pending one is the oldest.
SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL) AS undispatched,
       (SELECT coalesce(jsonb_object_agg(status, n), '{{}}'::jsonb) FROM by_status) AS by_status,
       (SELECT extract(epoch FROM now() - min(occurred_at)) FROM oldest) AS oldest_age
"""


async def webhook_gauges(db: Db) -> None:
    row = await db.fetchrow(_GAUGES_SQL)
    assert row is not None  # aggregates: always one row
    by_status = row["by_status"]
    for status in DeliveryStatus:
        DELIVERIES.labels(status.value).set(by_status.get(status.value, 0))
    BACKLOG.set(row["undispatched"] + by_status.get(DeliveryStatus.PENDING.value, 0))
    OLDEST_PENDING_AGE.set(max(float(row["oldest_age"] or 0), 0.0))
