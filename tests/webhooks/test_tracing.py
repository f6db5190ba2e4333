"""A webhook delivery is a span carrying the event, the endpoint, the outcome and its
batch's request id (in-memory exporter)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.core import tracing
from app.webhooks.relay import relay_once


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert tracing.configure("ipledge-test", exporter=exporter)
    yield exporter
    tracing.shutdown()


async def test_each_delivery_is_a_span(runtime, receiver, register, emit, spans):
    hook = receiver.hook()
    endpoint = await register(hook.url, ["loan.disbursed"])
    first, second = await emit("loan.disbursed"), await emit("loan.disbursed")
    assert await relay_once(runtime) == 2

    delivered = [s for s in spans.get_finished_spans() if s.name == "webhook.deliver"]
    assert {s.attributes["ipledge.event_id"] for s in delivered} == {str(first), str(second)}
    for span in delivered:
        assert span.attributes["ipledge.endpoint_id"] == endpoint["id"]
        assert span.attributes["ipledge.webhook.outcome"] == "delivered"
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes[tracing.REQUEST_ID_ATTRIBUTE].startswith("relay-")
    assert len({s.attributes[tracing.REQUEST_ID_ATTRIBUTE] for s in delivered}) == 1
