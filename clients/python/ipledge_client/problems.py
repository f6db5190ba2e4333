"""RFC 9457 problems as exceptions.

Every answer of 400 or more raises a ``Problem``: the class of its problem type when the API
document names it (``InvalidStateTransition``, ``IdempotencyKeyReused``…, see
``ipledge_client.problem_types``), each a subclass of the class of its status (``Conflict``,
``UnprocessableContent``…), so a caller catches as broadly or as narrowly as it needs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from ipledge_client.models import FieldError


class Problem(Exception):
    """A problem the service answered: ``type``, ``status``, ``title``, ``detail`` and the
    field ``errors``; ``body`` holds every member, extensions included."""

    slug: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        type: str,
        status: int,
        title: str,
        detail: str,
        errors: list[FieldError] | None = None,
        body: dict[str, Any] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.type = type
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.body = body or {}
        self.method = method
        self.url = url
        super().__init__(f"{status} {self.problem_slug}: {detail}")

    @property
    def problem_slug(self) -> str:
        """The last segment of ``type``: ``invalid-state-transition``."""
        return self.type.rsplit("/", 1)[-1]

    @property
    def request_id(self) -> str | None:
        value = self.body.get("request_id")
        return value if isinstance(value, str) else None

    def about(self, *loc: str | int) -> bool:
        """Whether a field error points at ``loc``, e.g. ``about("body", "amount")``."""
        return any(list(e.loc[: len(loc)]) == list(loc) for e in self.errors)

    @classmethod
    def from_response(cls, response: httpx.Response) -> Problem:
        body = _json_object(response)
        status = response.status_code
        type_ = body.get("type")
        if not isinstance(type_, str):
            type_ = "about:blank"
        errors: list[FieldError] = []
        for entry in body.get("errors") or []:
            try:
                errors.append(FieldError.model_validate(entry))
            except ValidationError:
                continue
        kind = _class_for(status, type_.rsplit("/", 1)[-1])
        return kind(
            type=type_,
            status=status,
            title=str(body.get("title") or response.reason_phrase),
            detail=str(body.get("detail") or body.get("title") or response.reason_phrase),
            errors=errors,
            body=body,
            method=response.request.method,
            url=str(response.request.url),
        )


class BadRequest(Problem):
    """400 and the other refusals of a request's form."""


class Unauthenticated(Problem):
    """401: no key or token, or one the service does not know."""


class Forbidden(Problem):
    """403: the caller's role may not do this."""


class NotFound(Problem):
    """404: no such resource, or not one the caller may see."""


class Conflict(Problem):
    """409: the resource's state does not allow this now."""


class PreconditionFailed(Problem):
    """412: the resource changed since the version named in If-Match."""


class UnprocessableContent(Problem):
    """422: the request is not valid; ``errors`` says where."""


class TooManyRequests(Problem):
    """429."""


class ServerError(Problem):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503: the service (or its database) is away for now."""


class IdempotencyKeyReused(UnprocessableContent):
    """422: this Idempotency-Key was used with a different request."""

    slug = "idempotency-key-reused"


class IdempotencyRequestInProgress(Conflict):
    """409: the first request with this Idempotency-Key is still running (retried by the
    transport; raised only when it keeps running past the last try)."""

    slug = "idempotency-request-in-progress"


# Every POST's: the idempotency protocol, not any one operation's.
_PROTOCOL: dict[str, type[Problem]] = {
    IdempotencyKeyReused.slug: IdempotencyKeyReused,
    IdempotencyRequestInProgress.slug: IdempotencyRequestInProgress,
}

_BY_STATUS: dict[int, type[Problem]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: UnprocessableContent,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def _class_for(status: int, slug: str) -> type[Problem]:
    from ipledge_client._problem_types import BY_SLUG

    named = _PROTOCOL.get(slug) or BY_SLUG.get(slug)
    by_status = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequest)
    if named is not None and issubclass(named, by_status):
        return named
    return by_status


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
