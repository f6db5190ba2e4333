"""Business gauges for /metrics: applications by state and open clocks by SLA state."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prometheus_client import Gauge

from app.applications.states import OPEN, ApplicationState, sql_list
from app.core.clock import business_date
from app.core.db import Db
from app.core.metrics import REGISTRY, business_gauges

APPLICATIONS = Gauge("ipledge_applications", "Applications by state.", ["state"], registry=REGISTRY)
SLA = Gauge(
    "ipledge_applications_sla",
    "Applications whose clock is running or paused, by SLA state.",
    ["sla_state"],
    registry=REGISTRY,
)
_REFRESH_S = 15.0
_last = [0.0]


@business_gauges
async def application_gauges(db: Db) -> None:
    # Counting a large table on every scrape would cost more than the scrape is worth.
    if time.monotonic() - _last[0] < _REFRESH_S:
        return
    now = datetime.now(UTC)
    rows = await db.fetch("SELECT state, count(*) AS n FROM applications GROUP BY state")
    APPLICATIONS.clear()
    for row in rows:
        APPLICATIONS.labels(row["state"]).set(row["n"])
    counts = await db.fetchrow(
        f"""SELECT count(*) FILTER (WHERE deadline_date IS NULL) AS pending_calendar,
                  count(*) FILTER (WHERE deadline_at < $1) AS breached,
                  count(*) FILTER (WHERE deadline_date = $2 AND deadline_at >= $1) AS at_risk,
                  count(*) FILTER (WHERE deadline_date > $2) AS running
           FROM applications WHERE state IN {sql_list(OPEN)}""",
        now,
        business_date(now),
    )
    assert counts is not None  # aggregates: always one row
    paused = await db.fetchval(
        f"SELECT count(*) FROM applications WHERE state = '{ApplicationState.AWAITING_INFORMATION}'"
    )
    for name in ("running", "at_risk", "breached", "pending_calendar"):
        SLA.labels(name).set(counts[name])
    SLA.labels("paused").set(paused)
    _last[0] = time.monotonic()
