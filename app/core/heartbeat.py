"""Every job and loop of the worker reports each pass it completes (``Heartbeat.beat``),
successful or not; the worker's health listener (``app.ops.health``) reads who has gone quiet.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge

from app.core import metrics

JOB_RUNS = Counter(
    "ipledge_job_runs_total",
    "Passes of the worker's jobs, by job and outcome (ok, failed).",
    ["job", "outcome"],
    registry=metrics.REGISTRY,
)
JOB_LAST_SUCCESS = Gauge(
    "ipledge_job_last_success_timestamp_seconds",
    "When each worker job last completed a pass without error (Unix time).",
    ["job"],
    registry=metrics.REGISTRY,
)


class Heartbeat:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stopping = False
        self._last: dict[str, float] = {}
        self._allowed: dict[str, float] = {}

    def expect(self, name: str, within_s: float) -> None:
        """``name`` completes a pass at least every ``within_s`` seconds."""
        self._allowed[name] = within_s
        self._last.setdefault(name, time.monotonic())

    def beat(self, name: str, *, ok: bool = True) -> None:
        self._last[name] = time.monotonic()
        JOB_RUNS.labels(name, "ok" if ok else "failed").inc()
        if ok:
            JOB_LAST_SUCCESS.labels(name).set(time.time())

    def quiet(self) -> dict[str, float]:
        """The jobs silent for longer than allowed, and for how long."""
        now = time.monotonic()
        return {
            name: round(now - self._last[name], 1)
            for name, allowed in self._allowed.items()
            if now - self._last[name] > allowed
        }


HEARTBEAT = Heartbeat()
