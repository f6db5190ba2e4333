"""The outermost layer, as plain ASGI (no per-request task or body copy): a request id on
every request and response, one JSON log line per request, HTTP metrics, and the body limits
(413 for too large, 415 for a body that is not JSON or is sent in a content coding).

A header whose meaning needs exactly one value (the credentials, the Idempotency-Key, the
If-Match version, the body's type, coding and length) sent twice is refused (422): which of
the two counts would otherwise be up to whichever component reads it. So is a query parameter
named twice (no parameter takes a list). A client that hangs up
before its body is complete is counted as 499, as proxies do, not as the service failing."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.requests import ClientDisconnect

from app.core import metrics
from app.core.errors import (
    DomainError,
    InternalError,
    PayloadTooLarge,
    UnsupportedContentCoding,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from app.core.problem import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SINGLE_HEADERS = {
    b"authorization": "Authorization",
    b"idempotency-key": "Idempotency-Key",
    b"if-match": "If-Match",
    b"content-type": "Content-Type",
    b"content-encoding": "Content-Encoding",
    b"content-length": "Content-Length",
}
CLIENT_CLOSED = 499  # the status nginx logs for a client that closed the connection

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = structlog.get_logger("ipledge.http")


def _is_json(content_type: str) -> bool:
    """JSON, and UTF-8 if a charset is named (the body itself is checked as it is read)."""
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _request_id(headers: dict[bytes, bytes]) -> str:
    incoming = headers.get(b"x-request-id", b"").decode("latin-1")
    return incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()


def _repeated_header(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The first header that must appear once but appears more often, if any."""
    seen: set[bytes] = set()
    for name, _ in raw:
        if name in _SINGLE_HEADERS:
            if name in seen:
                return _SINGLE_HEADERS[name]
            seen.add(name)
    return None


def _repeated_parameter(query_string: bytes) -> str | None:
    """The first query parameter named twice, if any: no parameter takes a list, and which of
    two values counts would be anybody's guess (the framework reads the last)."""
    if b"&" not in query_string:
        return None
    seen: set[str] = set()
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:
            return name
        seen.add(name)
    return None


def _coded(content_encoding: bytes | None) -> bool:
    """A content coding other than identity: the service reads bodies only as they are."""
    if content_encoding is None:
        return False
    codings = [c.strip().lower() for c in content_encoding.decode("latin-1").split(",")]
    return any(c not in ("", "identity") for c in codings)


def _twice(where: str, name: str) -> ValidationFailed:
    return ValidationFailed(
        f"send the {where} {name} once",
        errors=[field_error([where, name], "given more than once")],
    )


def _refusal(
    raw: list[tuple[bytes, bytes]],
    headers: dict[bytes, bytes],
    query_string: bytes,
    method: str,
    max_body: int,
) -> DomainError | None:
    """Why the request is refused before it is read, if it is (``headers``: ``raw`` as a
    dict, the last value of each)."""
    repeated = _repeated_header(raw)
    if repeated is not None:
        return _twice("header", repeated)
    parameter = _repeated_parameter(query_string)
    if parameter is not None:
        return _twice("query", parameter[:64])
    if method not in _BODY_METHODS:
        return None
    length = headers.get(b"content-length")
    has_body = (length is not None and length not in (b"0", b"")) or (
        b"transfer-encoding" in headers
    )
    if length is not None:
        try:
            if int(length) > max_body:
                return PayloadTooLarge(f"the body may be at most {max_body} bytes")
        except ValueError:
            return PayloadTooLarge("malformed Content-Length")
    if not has_body:
        return None
    if _coded(headers.get(b"content-encoding")):
        return UnsupportedContentCoding("send the body uncompressed (Content-Encoding: identity)")
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if not _is_json(content_type):
        return UnsupportedMediaType(
            "send the body as application/json, in UTF-8", received=content_type[:200] or None
        )
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive``, refusing (413) a body that grows past ``limit`` without announcing it."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(f"the body may be at most {limit} bytes")
        return message

    return receive_within_limit


class _Exchange:
    """One request's side of the exchange: its id on the response, and what was sent."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._header = (b"x-request-id", request_id.encode())
        self.request_id = request_id
        self.status = 500
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            message["headers"] = [*message.get("headers", []), self._header]
        await self._send(message)

    async def problem(self, exc: DomainError, scope: Scope, receive: Receive) -> None:
        response = problem_response(exc, request_id=self.request_id, instance=scope["path"])
        await response(scope, receive, self.send)


class RequestMiddleware:
    def __init__(self, app: App, *, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw = scope["headers"]
        headers = dict(raw)
        exchange = _Exchange(send, _request_id(headers))
        scope["ipledge.request_id"] = exchange.request_id
        early = _refusal(
            raw, headers, scope.get("query_string", b""), scope["method"], self.max_body
        )
        if early is not None:
            await exchange.problem(early, scope, receive)
        else:
            await self._call_app(scope, _limited(receive, self.max_body), exchange)
        self._record(scope, exchange, time.perf_counter() - started)

    async def _call_app(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        try:
            await self.app(scope, receive, exchange.send)
        except ClientDisconnect:
            # Nobody is left to answer, and nothing went wrong on this side.
            if not exchange.started:
                exchange.status = CLIENT_CLOSED
        except Exception as exc:
            # The exception handlers did not take it: log it with the request id; the caller
            # gets a 500 problem that carries the id and nothing of the internals.
            log.error("unhandled error", request_id=exchange.request_id, exc_info=exc)
            if not exchange.started:
                failure = InternalError("something went wrong; quote the request id to support")
                await exchange.problem(failure, scope, receive)

    def _record(self, scope: Scope, exchange: _Exchange, elapsed: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        metrics.observe_request(method, template, exchange.status, elapsed)
        if self.access_log:
            key_id = scope.get("ipledge.key_id")
            log.info(
                "request",
                request_id=exchange.request_id,
                method=method,
                path=scope["path"],
                route=template,
                status=exchange.status,
                duration_ms=round(elapsed * 1000, 2),
                key_id=str(key_id) if key_id else None,
            )
