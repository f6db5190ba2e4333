"""Rendering RFC 9457 problem details, and the exception handlers that produce them."""

from __future__ import annotations

from typing import Any

import asyncpg
import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.config import get_settings
from app.core import jsonutil, metrics
from app.core.db import CONNECTION_ERRORS
from app.core.errors import (
    PROBLEM_JSON,
    ConcurrentUpdate,
    DomainError,
    InternalError,
    LockTimeout,
    MethodNotAllowed,
    NotFound,
    SchemaMismatch,
    ServiceUnavailable,
    StatementTimeout,
    ValidationFailed,
)
from app.core.types import DATE_MAX, DATE_MIN

log = structlog.get_logger("ipledge.errors")

SCHEMA_ERRORS = (
    asyncpg.exceptions.UndefinedTableError,
    asyncpg.exceptions.UndefinedColumnError,
    asyncpg.exceptions.UndefinedFunctionError,
)


def problem_body(
    exc: DomainError, *, request_id: str | None, instance: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": get_settings().problem_base_uri + exc.slug,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    for name, value in exc.extensions.items():
        if value is not None and name not in body:
            body[name] = value
    return body


def problem_response(
    exc: DomainError, *, request_id: str | None, instance: str | None = None
) -> Response:
    headers = dict(exc.headers or {})
    metrics.count_problem(exc.slug, exc.status)
    return Response(
        content=jsonutil.dumps(problem_body(exc, request_id=request_id, instance=instance)),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    return request.scope.get("ipledge.request_id")


def _clean_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, (str, int)) else str(part) for part in loc]


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        errors.append({"loc": _clean_loc(err.get("loc", ())), "msg": msg, "type": err.get("type")})
    return errors


def allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (the router's 405 names only the first
    route that matched the path)."""
    path = request.scope["path"]
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.router.routes):
        regex = getattr(context.route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods.update(context.methods or ())
    return ", ".join(sorted(methods))


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(exc, request_id=_request_id(request), instance=request.url.path)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    problem = ValidationFailed(f"invalid: {fields}" if fields else None, errors=errors)
    return problem_response(problem, request_id=_request_id(request), instance=request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        problem: DomainError = NotFound("no such resource")
    elif exc.status_code == 405:
        problem = MethodNotAllowed()
    else:
        problem = DomainError(str(exc.detail))
        # Any other status Starlette raises is kept as it is, on this one instance (``status``
        # is a class attribute of every DomainError, which mypy will not let an instance set).
        problem.status = exc.status_code  # type: ignore[misc]
    response = problem_response(problem, request_id=_request_id(request), instance=request.url.path)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = allowed_methods(request)
    return response


def _database_problem(request: Request, exc: Exception) -> DomainError:
    """What a database failure is, told to the caller as it is."""
    if isinstance(
        exc, (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
    ):
        problem: DomainError = ConcurrentUpdate()
    elif isinstance(exc, asyncpg.exceptions.LockNotAvailableError):
        # lock_timeout: another transaction (a migration, a long write) holds the lock.
        log.warning("lock wait timed out", request_id=_request_id(request))
        problem = LockTimeout()
    elif isinstance(exc, SCHEMA_ERRORS):
        # The code names a table, column or function the database lacks: code rolled out
        # before its migration (readiness says so too). Not a caller's fault, and over
        # once the migration has run.
        log.error("schema behind the code", error=str(exc), request_id=_request_id(request))
        problem = SchemaMismatch()
    elif isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        log.warning("statement timed out", request_id=_request_id(request))
        problem = StatementTimeout()
    elif isinstance(exc, sqlalchemy.exc.TimeoutError):
        # Every pooled connection stayed busy for the pool's whole timeout.
        log.warning("database pool exhausted", request_id=_request_id(request))
        problem = ServiceUnavailable("no database connection came free in time")
    else:
        log.warning(
            "database unavailable", error=type(exc).__name__, request_id=_request_id(request)
        )
        problem = ServiceUnavailable("the database is not reachable right now")
    return problem


async def _database_error(request: Request, exc: Exception) -> Response:
    problem = _database_problem(request, exc)
    return problem_response(problem, request_id=_request_id(request), instance=request.url.path)


async def _check_violation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, asyncpg.exceptions.CheckViolationError)
    name = exc.constraint_name or ""
    if name.endswith("_in_range"):
        # A date computed from the caller's (a deadline, a maturity) fell outside the
        # dates the service keeps: the request asked for it, so it is the request's fault.
        problem: DomainError = ValidationFailed(
            f"a date this request leads to lies outside {DATE_MIN} … {DATE_MAX}"
        )
    else:
        log.error("unexpected check violation", constraint=name, request_id=_request_id(request))
        problem = InternalError("something went wrong; quote the request id to support")
    return problem_response(problem, request_id=_request_id(request), instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(asyncpg.exceptions.CheckViolationError, _check_violation)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exc_type in (
        *CONNECTION_ERRORS,
        asyncpg.exceptions.QueryCanceledError,
        asyncpg.exceptions.LockNotAvailableError,
        *SCHEMA_ERRORS,
        asyncpg.exceptions.TooManyConnectionsError,
        asyncpg.exceptions.DeadlockDetectedError,
        asyncpg.exceptions.SerializationError,
        TimeoutError,
        sqlalchemy.exc.TimeoutError,
    ):
        app.add_exception_handler(exc_type, _database_error)
