"""OpenTelemetry traces: HTTP requests, database statements and webhook deliveries.

Off unless the standard variables ask for them: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, and neither ``OTEL_SDK_DISABLED=true`` nor
``OTEL_TRACES_EXPORTER=none``. Spans then go to that collector over OTLP/HTTP, configured by
the exporter from the usual ``OTEL_*`` variables (headers, timeout, ``OTEL_SERVICE_NAME``…).
Off, nothing is added to a request's path: no middleware, no query hook.

Every span started while a request (or a relay batch) is handled carries its request id
(``ipledge.request_id``), so a trace can be found from a log line or a problem's
``request_id`` and the other way round. Statements are recorded without their parameters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

REQUEST_ID: ContextVar[str | None] = ContextVar("ipledge_request_id", default=None)
REQUEST_ID_ATTRIBUTE = "ipledge.request_id"
MAX_STATEMENT = 2000

_provider: TracerProvider | None = None


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


class RequestIdProcessor(SpanProcessor):
    """Puts the request id of the context a span starts in on the span."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        request_id = REQUEST_ID.get()
        if request_id is not None:
            span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

    def on_end(self, span: ReadableSpan) -> None:
        pass


def configure(service_name: str, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on when the environment asks (or, for tests, with ``exporter``);
    returns whether it is on."""
    global _provider
    if exporter is None and not wanted():
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(RequestIdProcessor())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    _provider = provider
    return True


def shutdown() -> None:
    """Flush and stop (at the end of a process, or of a test)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
    _provider = None


def active() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    if _provider is not None:
        return _provider.get_tracer("ipledge")
    return trace.get_tracer("ipledge")


def record_statement(record: Any) -> None:
    """asyncpg's query logger: one span per statement, in the context that ran it (asyncpg
    calls loggers with that context), timed from the driver's own measurement."""
    if _provider is None:
        return
    end = time.time_ns()
    span = tracer().start_span(
        "db.statement",
        kind=trace.SpanKind.CLIENT,
        start_time=end - int(record.elapsed * 1e9),
        attributes={
            "db.system": "postgresql",
            "db.statement": str(record.query)[:MAX_STATEMENT],
        },
    )
    if record.exception is not None:
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(record.exception).__name__))
    span.end(end_time=end)


def watch_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLAlchemy ``connect`` event: trace the new connection's statements."""
    dbapi_connection.driver_connection.add_query_logger(record_statement)


class TracingMiddleware:
    """A span per HTTP request, named by its route template once the router has matched it.
    Installed inside the request middleware, which has assigned the request id by then."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = REQUEST_ID.set(scope.get("ipledge.request_id"))
        status: list[int] = []

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        method = scope["method"]
        try:
            with tracer().start_as_current_span(
                f"{method} {scope['path']}",
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": scope["path"]},
            ) as span:
                try:
                    await self.app(scope, receive, send_and_note)
                finally:
                    route = getattr(scope.get("route"), "path_format", None)
                    if route:
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                    if status:
                        span.set_attribute("http.response.status_code", status[0])
                        if status[0] >= 500:
                            span.set_status(trace.Status(trace.StatusCode.ERROR))
        finally:
            REQUEST_ID.reset(token)
