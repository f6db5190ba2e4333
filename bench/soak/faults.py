"""The faults, one after another while the load runs, and how long each took to heal.

Each fault notes when it began and when the component was back; what the callers saw is read
afterwards from the workload's attempts (which requests failed, how, and when they succeeded
again), and what the webhook relay did from the database (when every event that existed at the
moment of the fault had been delivered).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.soak.cluster import Cluster
from bench.soak.procs import Proc
from bench.soak.workload import Attempt, Workload

# The webhook backlog of events that existed at a moment: not yet fanned out, or fanned out to
# a delivery that is still pending.
_BACKLOG_SQL = """
SELECT count(*) FROM outbox_events e
WHERE e.occurred_at <= $1
  AND (e.dispatched_at IS NULL
       OR EXISTS (SELECT 1 FROM webhook_deliveries d
                  WHERE d.event_id = e.id AND d.status = 'pending'))
"""


@dataclass
class Fault:
    name: str
    at: float  # seconds into the load
    began: float = 0.0
    back: float = 0.0  # the component is up again
    wall_began: datetime | None = None
    wall_back: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    pg_at: float = 25
    pg_down_s: float = 5
    receiver_at: float = 60
    receiver_down_s: float = 60
    worker_at: float = 140
    worker_down_s: float = 5
    api_at: float = 175
    api_down_s: float = 3


class Faults:
    def __init__(
        self,
        plan: Plan,
        workload: Workload,
        cluster: Cluster,
        apis: list[Proc],
        workers: list[Proc],
        receiver: Proc,
    ) -> None:
        self.plan = plan
        self.workload = workload
        self.cluster = cluster
        self.apis = apis
        self.workers = workers
        self.receiver = receiver
        self.done: list[Fault] = []
        self._watchers: list[asyncio.Task] = []

    async def _wait_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.workload.now()))

    def _begin(self, name: str, at: float) -> Fault:
        fault = Fault(name=name, at=at, began=self.workload.now(), wall_began=datetime.now(UTC))
        self.done.append(fault)
        print(f"  [{fault.began:6.1f} s] fault: {name}", flush=True)
        return fault

    def _back(self, fault: Fault) -> None:
        fault.back = self.workload.now()
        fault.wall_back = datetime.now(UTC)
        print(f"  [{fault.back:6.1f} s] back: {fault.name}", flush=True)

    async def run(self) -> None:
        p = self.plan
        await self._wait_until(p.pg_at)
        fault = self._begin("postgresql restart", p.pg_at)
        fault.details["stop_s"] = round(await asyncio.to_thread(self.cluster.stop, "fast"), 2)
        await asyncio.sleep(p.pg_down_s)
        fault.details["start_s"] = round(await asyncio.to_thread(self.cluster.start), 2)
        self._back(fault)

        await self._wait_until(p.receiver_at)
        fault = self._begin(f"webhook receiver down {p.receiver_down_s:g} s", p.receiver_at)
        await asyncio.to_thread(self.receiver.kill, signal.SIGKILL)
        await asyncio.sleep(p.receiver_down_s)
        self.receiver.start()
        await asyncio.to_thread(self.receiver.wait_ready)
        self._back(fault)
        # How long the relay took to catch up: every event from the outage delivered.
        self._watch_backlog(fault, fault.wall_back, fault.back, "backlog_delivered_after_back_s")

        await self._wait_until(p.worker_at)
        # Kill while some worker holds claimed deliveries (a batch in flight), so that the
        # kill has a fair chance of stranding a lease, which must then run out and be re-sent.
        leased = await self._wait_for_lease(limit=10)
        fault = self._begin("worker SIGKILL", p.worker_at)
        fault.details["leased_deliveries_at_kill"] = leased
        await asyncio.to_thread(self.workers[0].kill, signal.SIGKILL)
        # The dead worker's claimed deliveries wait for their lease to run out; the other
        # worker goes on with the rest.
        self._watch_backlog(fault, fault.wall_began, fault.began, "events_in_hand_delivered_s")
        await asyncio.sleep(p.worker_down_s)
        self.workers[0].start()
        await asyncio.to_thread(self.workers[0].wait_ready)
        self._back(fault)

        await self._wait_until(p.api_at)
        fault = self._begin("API process SIGKILL", p.api_at)
        fault.details["api"] = 0
        await asyncio.to_thread(self.apis[0].kill, signal.SIGKILL)
        await asyncio.sleep(p.api_down_s)
        self.apis[0].start()
        fault.details["restart_ready_s"] = round(
            await asyncio.to_thread(self.apis[0].wait_ready), 2
        )
        self._back(fault)

    async def _wait_for_lease(self, limit: float) -> int | None:
        started = self.workload.now()
        conn = await asyncpg.connect(self.cluster.url, timeout=3)
        try:
            while True:
                leased = await conn.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE locked_until > now()"
                )
                if leased or self.workload.now() - started > limit:
                    return leased
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    def _watch_backlog(self, fault: Fault, since: datetime | None, origin: float, key: str) -> None:
        task = asyncio.create_task(self._backlog(fault, since, origin, key))
        self._watchers.append(task)

    async def _backlog(
        self, fault: Fault, since: datetime | None, origin: float, key: str, limit: float = 240
    ) -> None:
        """Seconds from ``origin`` until every event that existed at ``since`` is delivered."""
        started = self.workload.now()
        while self.workload.now() - started < limit:
            try:
                conn = await asyncpg.connect(self.cluster.url, timeout=3)
                try:
                    left = await conn.fetchval(_BACKLOG_SQL, since)
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError):
                left = None
            if left == 0:
                fault.details[key] = round(self.workload.now() - origin, 1)
                return
            await asyncio.sleep(0.5)
        fault.details[key] = None

    async def settle(self) -> None:
        if self._watchers:
            await asyncio.gather(*self._watchers)


def _failed(a: Attempt) -> bool:
    return a.outcome in ("timeout", "connection") or (a.status or 0) >= 500


def callers_view(
    fault: Fault, attempts: list[Attempt], until: float, api: int | None = None
) -> dict:
    """What callers saw from the fault's start until ``until`` (30 s after the component was
    back, or the next fault): how their requests failed, how fast a failure came back (a hang
    would show as a timeout), and when requests succeeded again for good."""
    window = [
        a for a in attempts if fault.began <= a.sent <= until and (api is None or a.api == api)
    ]
    fails = [a for a in window if _failed(a)]
    seen = {
        "503_problem_json": sum(a.status == 503 and a.problem_json for a in fails),
        "500": sum(a.status == 500 for a in fails),
        "other_5xx": sum((a.status or 0) >= 500 and a.status not in (500, 503) for a in fails),
        "timeouts": sum(a.outcome == "timeout" for a in fails),
        "connection_errors": sum(a.outcome == "connection" for a in fails),
    }
    view: dict[str, Any] = {"failed_requests": len(fails), **seen}
    if not fails:
        view["recovered_after_s"] = 0.0
        return view
    view["slowest_failure_s"] = round(max(a.done - a.sent for a in fails), 2)
    last = max(a.sent for a in fails)
    later = [a.done for a in window if a.outcome == "ok" and a.sent > last]
    view["recovered_after_s"] = round(min(later) - fault.began, 2) if later else None
    view["recovered_after_back_s"] = round(min(later) - fault.back, 2) if later else None
    return view
