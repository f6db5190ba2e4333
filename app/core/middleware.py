"""The outermost layer, as plain ASGI (no per-request task or body copy): a request id on
every request and response, one JSON log line per request, HTTP metrics, and the body limits
(413 for too large, 415 for a body that is not JSON)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import MutableMapping
from typing import Any

import structlog

from app.core import metrics
from app.core.errors import DomainError, InternalError, PayloadTooLarge, UnsupportedMediaType
from app.core.problem import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

log = structlog.get_logger("ipledge.http")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestMiddleware:
    def __init__(self, app: Any, *, max_body_bytes: int, access_log: bool = True) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()
        scope["ipledge.request_id"] = request_id
        status_holder = [500]
        rid_header = (b"x-request-id", request_id.encode())

        sent_start = [False]

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent_start[0] = True
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        method = scope["method"]
        early: DomainError | None = None
        if method in _BODY_METHODS:
            length = headers.get(b"content-length")
            has_body = (length is not None and length not in (b"0", b"")) or (
                b"transfer-encoding" in headers
            )
            if length is not None:
                try:
                    if int(length) > self.max_body:
                        early = PayloadTooLarge(f"the body may be at most {self.max_body} bytes")
                except ValueError:
                    early = PayloadTooLarge("malformed Content-Length")
            if early is None and has_body:
                content_type = headers.get(b"content-type", b"").decode("latin-1")
                if not _is_json(content_type):
                    early = UnsupportedMediaType(
                        "send the body as application/json", received=content_type or None
                    )

        if early is not None:
            response = problem_response(early, request_id=request_id, instance=scope["path"])
            await response(scope, receive, send_wrapper)
        else:
            received = 0
            limit = self.max_body

            async def receive_wrapper() -> MutableMapping[str, Any]:
                nonlocal received
                message: MutableMapping[str, Any] = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise PayloadTooLarge(f"the body may be at most {limit} bytes")
                return message

            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except Exception as exc:
                # The exception handlers did not take it: log it with the request id; the
                # caller gets a 500 problem that carries the id and nothing of the internals.
                log.error("unhandled error", request_id=request_id, exc_info=exc)
                if not sent_start[0]:
                    response = problem_response(
                        InternalError("something went wrong; quote the request id to support"),
                        request_id=request_id,
                        instance=scope["path"],
                    )
                    await response(scope, receive, send_wrapper)

        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        status = status_holder[0]
        metrics.observe_request(method, template, status, elapsed)
        if self.access_log:
            key_id = scope.get("ipledge.key_id")
            log.info(
                "request",
                request_id=request_id,
                method=method,
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                key_id=str(key_id) if key_id else None,
            )
