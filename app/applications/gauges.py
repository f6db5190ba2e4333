"""Business gauges: applications by state and open clocks by SLA state (computed by the worker's
gauges job on its schedule, served on the worker's /metrics). ``GAUGES`` are registered by
``app.ops.gauges.register`` when the worker starts, not on import."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Gauge
from prometheus_client.registry import Collector

from app.applications.states import OPEN, ApplicationState, sql_list
from app.core.clock import business_date
from app.core.db import Db

APPLICATIONS = Gauge("ipledge_applications", "Applications by state.", ["state"], registry=None)
SLA = Gauge(
    "ipledge_applications_sla",
    "Applications whose clock is running or paused, by SLA state.",
    ["sla_state"],
    registry=None,
)
GAUGES: tuple[Collector, ...] = (APPLICATIONS, SLA)


async def application_gauges(db: Db) -> None:
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
