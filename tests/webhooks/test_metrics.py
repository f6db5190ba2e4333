"""The worker's /metrics: the webhook backlog, the age of the oldest waiting event and
deliveries by status (business gauges the worker computes on its schedule), and the attempts
this process made with their latency."""

import re
from datetime import timedelta

from app.core import metrics
from app.core.ids import uuid7
from app.ops import gauges
from app.webhooks.relay import relay_once
from tests.webhooks.receiver import Reply


async def _scrape(runtime) -> dict[str, float]:
    """What the worker serves after its gauges job's next pass."""
    gauges.register(metrics.BUSINESS)  # as the worker does when it starts
    await gauges.refresh(runtime)
    values = {}
    for line in metrics.render(metrics.BUSINESS).decode().splitlines():
        match = re.match(r"^(ipledge_webhook_\S+) (\S+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


async def test_backlog_age_and_outcomes(client, runtime, clock, conn, receiver, register, emit):
    ok, failing = receiver.hook(), receiver.hook(Reply(500))
    await register(ok.url, ["loan.disbursed"])
    await register(failing.url, ["loan.defaulted"])
    before = await _scrape(runtime)

    await emit("loan.disbursed")
    await emit("loan.defaulted")
    # An event that has waited an hour (written directly, as an old outbox row would be).
    await conn.execute(
        """INSERT INTO outbox_events (id, type, occurred_at, data)
           VALUES ($1, 'loan.disbursed', $2, '{}'::jsonb)""",
        uuid7(),
        clock.now() - timedelta(hours=1),
    )
    waiting = await _scrape(runtime)
    assert waiting["ipledge_webhook_backlog"] == before["ipledge_webhook_backlog"] + 3
    assert waiting["ipledge_webhook_oldest_pending_age_seconds"] > 3590

    assert await relay_once(runtime) == 3
    after = await _scrape(runtime)
    assert after["ipledge_webhook_backlog"] == before["ipledge_webhook_backlog"] + 1  # the retry

    def grew(name: str, values: dict[str, float]) -> float:
        return values.get(name, 0) - before.get(name, 0)

    assert grew('ipledge_webhook_deliveries{status="delivered"}', after) == 2
    assert grew('ipledge_webhook_deliveries{status="pending"}', after) == 1
    assert grew('ipledge_webhook_attempts_total{outcome="delivered"}', after) == 2
    assert grew('ipledge_webhook_attempts_total{outcome="rejected"}', after) == 1
    # Each attempt's latency is observed under its outcome.
    assert grew('ipledge_webhook_delivery_seconds_count{outcome="delivered"}', after) == 2
    assert grew('ipledge_webhook_delivery_seconds_count{outcome="rejected"}', after) == 1
