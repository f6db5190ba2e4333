"""Liveness, readiness and metrics: for the orchestrator and Prometheus, no key needed."""

from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.core import metrics
from app.core.db import CONNECTION_ERRORS
from app.core.routing import ApiRouter, public
from app.migrate import head_revision

router = ApiRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migration: str | None
    expected_migration: str


@router.get("/healthz", response_model=Health)
@public
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
@public
async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the migrations' head."""
    expected = head_revision()
    try:
        async with asyncio.timeout(3):
            async with request.app.state.database.connection() as db:
                current = await db.fetchval("SELECT version_num FROM alembic_version")
    except (*CONNECTION_ERRORS, TimeoutError, Exception) as exc:
        body = Readiness(
            status="unavailable",
            database=type(exc).__name__,
            migration=None,
            expected_migration=expected,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    ready = current == expected
    body = Readiness(
        status="ready" if ready else "migrations pending",
        database="ok",
        migration=current,
        expected_migration=expected,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
@public
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text format: HTTP metrics and business gauges."""
    async with request.app.state.database.connection() as db:
        body = await metrics.render(db)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
