"""Traces, with OpenTelemetry's in-memory exporter: off unless the standard variables ask for
them; on, a request gets a server span named by its route, its statements get spans under it,
and every one of them carries the request id."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.core import tracing
from app.main import create_app
from tests.conftest import _issue_key, make_settings
from tests.ops.conftest import app_client


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_on_only_when_the_standard_variables_ask(environ, on):
    assert tracing.wanted(environ) is on


def test_off_adds_nothing_to_a_request():
    assert not tracing.active()
    app = create_app(make_settings(), listen=False)
    assert tracing.TracingMiddleware not in [m.cls for m in app.user_middleware]


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert tracing.configure("ipledge-test", exporter=exporter)
    yield exporter
    tracing.shutdown()


async def test_a_request_and_its_statements_carry_the_request_id(database_url, spans):
    async with app_client(database_url) as http:
        runtime = http.runtime
        async with runtime.database.connection() as db, db.transaction():
            admin = await _issue_key(db, runtime.settings, runtime.clock, "admin", None)
        await asyncio.sleep(0.05)  # the driver reports statements just after they end
        spans.clear()
        response = await http.get(
            "/v1/api-keys", headers={**admin, "X-Request-ID": "trace-0123456789"}
        )
        assert response.status_code == 200
        await asyncio.sleep(0.05)

    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind == SpanKind.SERVER]
    assert server.name == "GET /v1/api-keys"
    assert server.attributes["http.route"] == "/v1/api-keys"
    assert server.attributes["http.response.status_code"] == 200
    statements = [s for s in finished if s.name == "db.statement"]
    assert statements, [s.name for s in finished]
    for span in (server, *statements):
        assert span.attributes[tracing.REQUEST_ID_ATTRIBUTE] == "trace-0123456789"
    for span in statements:
        assert span.context.trace_id == server.context.trace_id
        assert span.parent is not None and span.parent.span_id == server.context.span_id
        assert span.attributes["db.system"] == "postgresql"
        # The statement, never its parameters (a key's hash, a body's values).
        assert (
            "$1" in span.attributes["db.statement"]
            or "SELECT" in span.attributes["db.statement"].upper()
        )
        assert span.start_time <= span.end_time
        # Placed from the driver's own timing when it reports the statement, one turn of the
        # event loop after it ended: within the request, give or take that turn.
        assert server.start_time <= span.start_time
        assert span.end_time <= server.end_time + 50_000_000
