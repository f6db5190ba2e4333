"""The outermost layer, as plain ASGI (no per-request task or body copy): a request id on
every request and response, one JSON log line per request, HTTP metrics, and the body limits
(413 for too large, 415 for a body that is not JSON)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from app.core import metrics
from app.core.errors import DomainError, InternalError, PayloadTooLarge, UnsupportedMediaType
from app.core.problem import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

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


def _refusal(method: str, headers: dict[bytes, bytes], max_body: int) -> DomainError | None:
    """What a body's headers alone refuse: too large (413) or not JSON (415)."""
    if method not in _BODY_METHODS:
        return None
    length = headers.get(b"content-length")
    if length is not None:
        try:
            if int(length) > max_body:
                return PayloadTooLarge(f"the body may be at most {max_body} bytes")
        except ValueError:
            return PayloadTooLarge("malformed Content-Length")
    has_body = (length is not None and length not in (b"0", b"")) or (
        b"transfer-encoding" in headers
    )
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    if has_body and not _is_json(content_type):
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
        headers = dict(scope["headers"])
        exchange = _Exchange(send, _request_id(headers))
        scope["ipledge.request_id"] = exchange.request_id
        early = _refusal(scope["method"], headers, self.max_body)
        if early is not None:
            await exchange.problem(early, scope, receive)
        else:
            await self._call_app(scope, _limited(receive, self.max_body), exchange)
        self._record(scope, exchange, time.perf_counter() - started)

    async def _call_app(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        try:
            await self.app(scope, receive, exchange.send)
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
