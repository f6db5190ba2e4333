"""The FastAPI application: ``create_app()`` wires settings, the database, the routers and the
error handlers. The engine is built in the lifespan, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from fastapi import FastAPI

from app import routers
from app.applications import moves as application_moves
from app.applications import sweep as sla_sweep
from app.calendar import service as calendar_service
from app.config import Settings, get_settings
from app.core import auth, oidc, problem, tracing
from app.core import logging as app_logging
from app.core.middleware import RequestMiddleware
from app.core.openapi import SECURITY_SCHEMES, document_headers, document_problem_media
from app.core.routing import operation_id
from app.core.runtime import Runtime
from app.keys.domain import LiveKey
from app.keys.service import load_live_key
from app.ops import lifecycle
from app.pledges import service as pledges_service

log = structlog.get_logger("ipledge.app")

DESCRIPTION = """
The origination back end for loans secured by intellectual property: applications and their
approval clock in Chinese working days, pricing off the LPR, pledges from valuation to CNIPA
registration to release, loans, district subsidies with signed webhooks, and securitisation
pools with their data tapes.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem details.
Every POST accepts an `Idempotency-Key`.
"""


# Measured here (make bench): with CPython's default thresholds a collection of the older
# generations walks every object the process built at start-up (routes, schemas, models, the
# calendar index) several times a second under load; those pauses put the p99 of every
# operation at 100 ms and more while its median was under 10. Objects alive once the service
# is up live as long as the process: frozen, no collection walks them again, and collections of
# what requests leave behind come less often.
GC_THRESHOLDS = (50_000, 50, 100)


def settle_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _listen_for_revocations(app: FastAPI, runtime: Runtime) -> None:
    """Forget revoked keys at once in this process; the cache TTL covers a missed notice."""
    while True:
        try:
            async with runtime.database.engine.connect() as sa_conn:
                raw = await sa_conn.get_raw_connection()
                conn: asyncpg.Connection = raw.driver_connection

                def on_notice(_c: Any, _pid: int, _channel: str, payload: str) -> None:
                    key_id = auth.listen_payload(payload)
                    app.state.keys.forget(key_id)

                closed = asyncio.Event()
                conn.add_termination_listener(lambda _c, closed=closed: closed.set())
                await conn.add_listener(auth.NOTIFY_CHANNEL, on_notice)
                # Listening again: a revocation sent while no one listened was missed, so
                # nothing cached before now can be trusted.
                app.state.keys.forget()
                try:
                    await closed.wait()
                finally:
                    if not conn.is_closed():
                        await conn.remove_listener(auth.NOTIFY_CHANNEL, on_notice)
                await sa_conn.invalidate()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is away: retry, and trust the TTL meanwhile
            log.warning("key revocation listener down", error=type(exc).__name__)
            app.state.keys.forget()
            await asyncio.sleep(2)


def attach(app: FastAPI, runtime: Runtime) -> None:
    """Point the application at a runtime (the lifespan does this; tests do it directly)."""
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.database = runtime.database
    app.state.clock = runtime.clock

    async def load(key_id: UUID) -> LiveKey | None:
        async with runtime.database.connection() as db:
            return await load_live_key(db, key_id)

    app.state.keys = auth.KeyCache(
        load, runtime.settings.key_cache_ttl_s, runtime.settings.key_cache_max_entries
    )
    app.state.keys.tokens = oidc.verifier_for(runtime.settings)


def _document_security(app: FastAPI) -> None:
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            document_problem_media(schema)
            document_headers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    # FastAPI's documented way to extend the schema: replace the app's openapi method.
    app.openapi = openapi  # type: ignore[method-assign]


def connect_domains() -> None:
    """The domains' reactions to one another's changes, registered here rather than by
    importing them: an application's approval clock follows the calendar it is counted on, and
    a pledge's registration moves its application's version (decision 0017) by the guard the
    applications domain writes."""
    calendar_service.on_change(sla_sweep.calendar_changed)
    pledges_service.guard_registrations_with(application_moves.pledge_move_guard)


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, listen: bool = True
) -> FastAPI:
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.create(settings)
        attach(app, rt)
        stop_operations = await lifecycle.start(app, rt)
        if runtime is None:
            settle_garbage_collector()
        listener = asyncio.create_task(_listen_for_revocations(app, rt)) if listen else None
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await stop_operations()
            if runtime is None:
                await rt.close()

    app = FastAPI(
        title="ipledge",
        version="1.0.0",
        summary="IP-pledge loan origination",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # One schema per model, for requests and responses alike: client generators then make
        # one class of it (Criteria, not Criteria-Input and Criteria-Output).
        separate_input_output_schemas=False,
        # An id with a trailing slash is no resource: 404, not a redirect to another path.
        redirect_slashes=False,
        # Metrics are ours (Prometheus, /metrics); FastAPI's OpenTelemetry hooks would cost
        # every request a provider lookup for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.lifecycle = lifecycle.Lifecycle()
    connect_domains()
    _document_security(app)
    problem.install(app)
    for router in routers.ALL:
        app.include_router(router)
    if tracing.active():  # inside the request middleware: the request id is known by then
        app.add_middleware(tracing.TracingMiddleware)
    app.add_middleware(
        RequestMiddleware, max_body_bytes=settings.max_body_bytes, access_log=settings.access_log
    )
    return app


def openapi_document() -> str:
    """The OpenAPI document as committed in openapi/openapi.json (``ipledge openapi``)."""
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


def app_factory() -> FastAPI:
    """For ``uvicorn --factory app.main:app_factory``."""
    settings = get_settings()
    app_logging.configure(settings.log_level)
    tracing.configure("ipledge-api")
    return create_app(settings)
