"""The worker's jobs are the ones its registry lists, whatever else has been imported: no
module adds one by being imported."""

from __future__ import annotations

import subprocess
import sys


def test_the_registry_lists_every_job_once_and_imports_add_none():
    code = """
import app.worker as worker
before = [j.name for j in worker.JOBS] + [l.name for l in worker.LOOPS]
import app.main, app.routers  # every domain
after = [j.name for j in worker.JOBS] + [l.name for l in worker.LOOPS]
assert before == after, (before, after)
assert len(set(after)) == len(after), after
print(",".join(after))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    names = set(result.stdout.strip().split(","))
    assert {
        "sla_sweep",
        "business_gauges",
        "idempotency_retention",
        "webhook_retention",
        "webhook_relay",
    } <= names


def test_the_relay_waits_at_least_one_batch_at_a_stop():
    from app.webhooks.relay import batch_seconds
    from app.worker import grace_s
    from tests.conftest import make_settings

    settings = make_settings(
        worker_shutdown_grace_s=1,
        webhook_batch_size=100,
        webhook_concurrency=32,
        webhook_timeout_s=10,
    )
    # 100 deliveries over 32 lanes: 4 rounds of at most 10 s.
    assert batch_seconds(settings) == 40
    assert grace_s(settings) >= 40
