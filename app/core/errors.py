"""Errors a caller can see, as RFC 9457 problem details.

Every error the service means to show is a ``DomainError`` subclass with a slug, a status and a
title; routes list the ones they raise in ``responses=`` (see ``problems()``), so the OpenAPI
document says what each operation can answer. Anything else becomes a 500 that carries the
request id and nothing of the internals.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    slug: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        self.detail = detail or self.title
        self.extensions = extensions
        super().__init__(self.detail)

    headers: ClassVar[dict[str, str] | None] = None


class Unauthenticated(DomainError):
    slug, status, title = "unauthenticated", 401, "Missing or unknown API key"
    # A 401 names the scheme it wants (RFC 9110, section 11.6.1), so that HTTP clients know
    # to send a bearer token.
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": 'Bearer realm="ipledge"'}


class Forbidden(DomainError):
    slug, status, title = "forbidden", 403, "This key's role may not do this"


class NotFound(DomainError):
    slug, status, title = "not-found", 404, "Not found"


class MethodNotAllowed(DomainError):
    slug, status, title = "method-not-allowed", 405, "Method not allowed"


class InvalidStateTransition(DomainError):
    slug, status, title = "invalid-state-transition", 409, "Invalid state transition"


class ConcurrentUpdate(DomainError):
    slug, status, title = "concurrent-update", 409, "A concurrent change won; retry"


class PreconditionFailed(DomainError):
    slug, status, title = "precondition-failed", 412, "The resource has changed (If-Match)"


class PayloadTooLarge(DomainError):
    slug, status, title = "payload-too-large", 413, "Request body too large"


class UnsupportedMediaType(DomainError):
    slug, status, title = "unsupported-media-type", 415, "Send application/json"


class UnsupportedContentCoding(UnsupportedMediaType):
    """A body sent gzip (or in any coding but identity): RFC 7694 names what is accepted."""

    headers: ClassVar[dict[str, str] | None] = {"Accept-Encoding": "identity"}


class ValidationFailed(DomainError):
    slug, status, title = "validation-error", 422, "The request is not valid"


class IdempotencyKeyReused(DomainError):
    slug, status, title = (
        "idempotency-key-reused",
        422,
        "This Idempotency-Key was used with a different request",
    )


class IdempotencyRequestInProgress(DomainError):
    slug, status, title = (
        "idempotency-request-in-progress",
        409,
        "A request with this Idempotency-Key is still being processed",
    )
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "1"}


class ServiceUnavailable(DomainError):
    slug, status, title = "service-unavailable", 503, "Temporarily unavailable; retry shortly"
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "2"}


class LockTimeout(ServiceUnavailable):
    slug, title = "lock-timeout", "A row or table this request needs is locked; retry shortly"


class StatementTimeout(ServiceUnavailable):
    slug, title = "statement-timeout", "The database took too long to answer; retry shortly"


class SchemaMismatch(ServiceUnavailable):
    slug, title = (
        "schema-mismatch",
        "The database schema is not the one this release needs; retry shortly",
    )


class InternalError(DomainError):
    slug, status, title = "internal-error", 500, "Internal error"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the error is: body, query, path, header.")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://ipledge.example/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def field_error(loc: list[str | int], msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def problems(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the problems it can answer, grouped by status."""
    always = (Unauthenticated, Forbidden, ValidationFailed)
    by_status: dict[int, list[type[DomainError]]] = {}
    listed: tuple[type[DomainError], ...] = (*always, *errors)
    for err in listed:
        by_status.setdefault(err.status, [])
        if err not in by_status[err.status]:
            by_status[err.status].append(err)
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_JSON: {}},
            "description": "; ".join(f"`{e.slug}`: {e.title}" for e in errs),
        }
        for status, errs in sorted(by_status.items())
    }
