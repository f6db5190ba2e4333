"""How a /v1 operation is described in the OpenAPI document, from its access rule: the
security scheme and roles, the headers it reads (``Idempotency-Key``, ``If-Match``) and sends
(``ETag``, ``Location``, ``Idempotent-Replayed``, ``X-Request-ID``, ``Retry-After``,
``WWW-Authenticate``), and the problems every operation may answer (503; 413 and 415 for a
write). ``app.core.routing.ApiRoute`` calls ``describe`` for each route; ``app.main`` calls
``document_headers`` once the document is built."""

from __future__ import annotations

from typing import Any, Protocol

from app.core import idempotency
from app.core.errors import (
    PROBLEM_JSON,
    DomainError,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    LockTimeout,
    PayloadTooLarge,
    SchemaMismatch,
    ServiceUnavailable,
    StatementTimeout,
    UnsupportedMediaType,
    problems,
)
from app.core.roles import Role


class Rule(Protocol):
    """What the document needs of a route's access rule (``app.core.routing.Access``)."""

    @property
    def public(self) -> bool: ...
    @property
    def roles(self) -> frozenset[Role]: ...
    @property
    def if_match(self) -> bool: ...
    @property
    def etag(self) -> bool: ...
    @property
    def location(self) -> bool: ...


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <api key>`; keys are issued by admins.",
    }
}


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key, caller and request within 24 hours get the first "
    "response again, with `Idempotent-Replayed: true`, and nothing is done twice.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": idempotency.KEY_PATTERN,
    },
}
_ENTITY_TAG = r'(W/)?"[!#-~]*"'
_IF_MATCH_PATTERN = rf"^(\*|{_ENTITY_TAG}( *, *{_ENTITY_TAG})*)$"
IF_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The `ETag` of the version the change is meant for (or `*`): 412 when the "
    "resource is at another one.",
    # RFC 9110, section 13.1.1: "*" or a list of entity-tags.
    "schema": {"type": "string", "pattern": _IF_MATCH_PATTERN},
}
_UNAVAILABLE = (ServiceUnavailable, LockTimeout, StatementTimeout, SchemaMismatch)


HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the caller's `X-Request-ID` if it is 1 to 64 of "
        "`A-Z a-z 0-9 . _ -`, else a new one. Quote it to support.",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "The scheme the service wants: `Bearer`.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The version of the resource answered, for `If-Match`.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The path of the resource created.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the replay of the response to an earlier request "
        "with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
"""Response headers, declared once under ``components.headers`` (``document_headers``)."""


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _unavailable() -> dict[str, Any]:
    spec = problems(*_UNAVAILABLE)[503]
    spec["headers"] = _headers("Retry-After")
    return spec


def _success_headers(rule: Rule, methods: set[str], status: int) -> dict[str, Any]:
    names = []
    if rule.etag:
        names.append("ETag")
    if rule.location and status == 201:
        names.append("Location")
    if "POST" in methods:
        names.append("Idempotent-Replayed")
    return _headers(*names)


def document_headers(document: dict[str, Any]) -> None:
    """Declare what every response carries: ``X-Request-ID`` (``app.core.middleware``), and
    ``WWW-Authenticate`` on a 401; what a route's own answers carry ``ApiRoute`` declares."""
    document.setdefault("components", {})["headers"] = HEADERS
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers.update(_headers("X-Request-ID"))
                if status == "401":
                    headers.update(_headers("WWW-Authenticate"))


def describe(rule: Rule, kwargs: dict[str, Any]) -> None:
    """Complete a route's ``openapi_extra`` and ``responses`` (``kwargs`` of ``APIRoute``) from
    its access rule."""
    methods = {m.upper() for m in kwargs.get("methods") or ()}
    responses = dict(kwargs.get("responses") or {})
    if not rule.public:
        # Documented here rather than as a security dependency: the check itself happens
        # once, in the unit of work.
        extra = dict(kwargs.get("openapi_extra") or {})
        extra["security"] = [{"bearerAuth": []}]
        extra["x-roles"] = sorted(role.value for role in rule.roles)
        parameters = list(extra.get("parameters") or [])
        if "POST" in methods:
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        if rule.if_match:
            parameters.append(IF_MATCH_PARAMETER)
        if parameters:
            extra["parameters"] = parameters
        # Every request of /v1 runs on the database (the unit of work, or the streamed
        # response's own connection): it may find it away or busy.
        responses.setdefault(503, _unavailable())
        # What a success carries, merged into the answer FastAPI documents for it.
        successes = {int(kwargs.get("status_code") or 200)}
        successes |= {int(s) for s in map(str, responses) if s.isdigit() and s[0] == "2"}
        documented = dict(extra.get("responses") or {})
        for success in sorted(successes):
            if headers := _success_headers(rule, methods, success):
                documented[str(success)] = {"headers": headers}
        if documented:
            extra["responses"] = documented
        kwargs["openapi_extra"] = extra
    if "POST" in methods:
        # The Idempotency-Key protocol (app.core.idempotency) answers any POST.
        for error in (IdempotencyRequestInProgress, IdempotencyKeyReused):
            _add_problem(responses, error)
    if WRITE_METHODS & methods:
        # The body limits (app.core.middleware, app.core.jsonutil) answer any write.
        for status, spec in problems(PayloadTooLarge, UnsupportedMediaType).items():
            if status in (413, 415):
                responses.setdefault(status, spec)
    kwargs["responses"] = responses


def _add_problem(responses: dict[Any, Any], error: type[DomainError]) -> None:
    """Name ``error`` among the problems of its status, beside the route's own, with the
    headers it carries (``Retry-After``). A copy: routes share their ``responses=``."""
    spec = responses.get(error.status) or problems(error)[error.status]
    named = f"`{error.slug}`: {error.title}"
    description = str(spec.get("description") or "")
    if f"`{error.slug}`" not in description:
        spec = {**spec, "description": f"{description}; {named}".lstrip("; ")}
    if error.headers:
        spec = {**spec, "headers": {**spec.get("headers", {}), **_headers(*error.headers)}}
    responses[error.status] = spec


def document_problem_media(document: dict[str, Any]) -> None:
    """FastAPI documents a response's ``model`` under ``application/json``; problems are sent as
    ``application/problem+json``, so that is where their schema belongs, and the media type
    they are never sent as is left out (a validator or generated client matches on it)."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content") or {}
                if PROBLEM_JSON in content and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
