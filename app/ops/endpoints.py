"""Liveness, readiness and metrics: for the orchestrator and Prometheus, no key needed."""

from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.core import metrics
from app.core.routing import ApiRouter, public
from app.migrate import head_revision
from app.ops import schema
from app.ops.access import metrics_allowed

router = ApiRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(
        description="ready; ahead (a newer schema that declares this code compatible); "
        "migrations pending (the schema is behind this code); incompatible; unavailable "
        "(the database did not answer); shutting down."
    )
    database: str
    migration: str | None
    expected_migration: str
    oldest_compatible_migration: str | None = None


STATUS_TEXT = {
    "ready": "ready",
    "ahead": "ahead",
    "behind": "migrations pending",
    "incompatible": "incompatible",
    "missing": "migrations pending",
}


@router.get("/healthz", response_model=Health)
@public
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
@public
async def readyz(request: Request) -> Response:
    """Ready to take traffic: not shutting down, the database answers, and its schema is this
    code's head or a newer one that declares this code compatible (a release migrates first,
    then rolls out). A schema behind the code is not ready."""
    expected = head_revision()
    lifecycle = getattr(request.app.state, "lifecycle", None)
    if lifecycle is not None and lifecycle.draining:
        body = Readiness(
            status="shutting down", database="unknown", migration=None, expected_migration=expected
        )
        return JSONResponse(body.model_dump(), status_code=503)
    try:
        async with asyncio.timeout(3):
            async with request.app.state.database.connection() as db:
                state = await schema.inspect(db)
    except Exception as exc:  # any failure to answer (connection, timeout, server) is "not ready"
        body = Readiness(
            status="unavailable",
            database=type(exc).__name__,
            migration=None,
            expected_migration=expected,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    body = Readiness(
        status=STATUS_TEXT[state.status],
        database="ok",
        migration=state.revision,
        expected_migration=expected,
        oldest_compatible_migration=state.oldest_compatible,
    )
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}},
        401: {"description": "IPLEDGE_METRICS_TOKEN is set and the bearer token is not it."},
    },
)
@public
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format: this process's HTTP traffic, problems, database pool and batcher
    (every process's under ``serve --workers N``). Never touches the database. The business
    gauges are on the worker's /metrics. With IPLEDGE_METRICS_TOKEN set, send it as a bearer
    token."""
    if not metrics_allowed(request.app.state.settings, request.headers.get("authorization")):
        return Response(
            "metrics token required\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
