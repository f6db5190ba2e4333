"""How every call is sent: authentication, an ``Idempotency-Key`` on every POST, safe retries,
and problems raised as exceptions.

Retrying is safe for every operation of this API: GET and PUT are idempotent, and every POST
carries an Idempotency-Key, generated once per call and sent again on each of its retries, so
the service does it once and replays its first answer. A call is retried when the connection
fails, on 503 and 429 (after ``Retry-After`` when the service sends one), and on 409
``idempotency-request-in-progress`` (the first attempt of the same call is still running).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json as _json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ipledge_client.problems import Problem

M = TypeVar("M", bound=BaseModel)
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
Token = str | Callable[[], str] | None
# Seconds, or an ``httpx.Timeout``; None: the default (below), or that of the caller's client.
Timeout = float | httpx.Timeout | None
DEFAULT_TIMEOUT_S = 30.0
IDEMPOTENCY_KEY = "Idempotency-Key"
IF_MATCH = "If-Match"
IN_PROGRESS = "idempotency-request-in-progress"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    backoff_s: float = 0.25  # doubled after each try, with jitter
    max_delay_s: float = 30.0  # the longest wait, Retry-After included

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """How long to wait before try ``attempt + 1``."""
        after = _retry_after(response) if response is not None else None
        if after is None:
            after = self.backoff_s * (2**attempt) * (0.5 + random.random())
        return max(0.0, min(after, self.max_delay_s))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (moment - dt.datetime.now(dt.UTC)).total_seconds()


def _retryable(response: httpx.Response) -> bool:
    if response.status_code in (429, 503):
        return True
    if response.status_code == 409:
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and str(body.get("type", "")).endswith(f"/{IN_PROGRESS}")
    return False


def _query_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    return value


def if_match_value(version: int | str, headers: Mapping[str, str]) -> str:
    """The ``If-Match`` header for ``version``: a resource's ``version`` (``3`` is sent as
    ``"3"``), or an entity tag as the service sent it (``"3"``, ``W/"3"``, ``*``), as is."""
    if any(name.lower() == IF_MATCH.lower() for name in headers):
        raise ValueError("If-Match given twice: pass if_match= or an If-Match header, not both")
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise TypeError(f"if_match is a version (int) or an ETag (str), not {version!r}")
    return f'"{version}"' if isinstance(version, int) else version


def http_client(kind: type[H], base_url: str, timeout: Timeout, http: H | None) -> H:
    """``http`` sent to ``base_url`` (``with_base_url``), or a pool of the client's own."""
    if http is not None:
        return with_base_url(http, base_url)
    return kind(
        base_url=base_url.rstrip("/"), timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout
    )


def with_base_url(http: H, base_url: str) -> H:
    """The caller's own client, sent to ``base_url``: given to it when it has none; one that
    points elsewhere is refused rather than silently followed."""
    # Compared as httpx writes them (host in lower case, a scheme's default port dropped), so
    # that one address spelt two ways is not refused.
    wanted, has = str(httpx.URL(base_url)).rstrip("/"), str(http.base_url).rstrip("/")
    if not has:
        http.base_url = wanted
    elif has != wanted:
        raise ValueError(f"http= is a client of {has}, not of {wanted}")
    return http


def segment(value: object) -> str:
    """A path parameter, escaped: an id can never reach another path."""
    if isinstance(value, dt.date):
        value = value.isoformat()
    return quote(str(value), safe="")


@dataclass(frozen=True, slots=True)
class Prepared:
    method: str
    url: str
    params: dict[str, Any]
    content: bytes | None
    headers: dict[str, str]


class _Calls:
    """What the sync and async transports share: building requests, reading answers."""

    def __init__(self, token: Token, retry: RetryPolicy, timeout: Timeout) -> None:
        self.token = token
        self.retry = retry
        # Sent with every request, so that it holds on a client the caller made too.
        self.timeout = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout

    def prepare(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: BaseModel | Mapping[str, Any] | None = None,
        body_model: type[BaseModel] | None = None,
        json: Any = None,
        accept: str = "application/json",
        idempotency_key: str | None = None,
        if_match: int | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Prepared:
        sent = {"Accept": accept, **(headers or {})}
        if if_match is not None:
            sent[IF_MATCH] = if_match_value(if_match, headers or {})
        token = self.token() if callable(self.token) else self.token
        if token:
            sent["Authorization"] = f"Bearer {token}"
        content = None
        if body is not None:
            if not isinstance(body, BaseModel):
                assert body_model is not None
                body = body_model.model_validate(body)
            content = body.model_dump_json(exclude_unset=True, by_alias=True).encode()
        elif json is not None:
            content = _json.dumps(json, ensure_ascii=False).encode()
        if content is not None:
            sent["Content-Type"] = "application/json"
        if method == "POST":
            sent[IDEMPOTENCY_KEY] = idempotency_key or str(uuid.uuid4())
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        return Prepared(method, path, query, content, sent)

    def read(self, response: httpx.Response, result: Any) -> Any:
        if result is None:
            return None
        if result is str:
            return response.text
        return result.model_validate_json(response.content)


class Transport(_Calls):
    def __init__(
        self,
        base_url: str,
        *,
        token: Token = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(token, retry or RetryPolicy(), timeout)
        self.http = http_client(httpx.Client, base_url, timeout, http)
        self._sleep = sleep

    @overload
    def call(self, method: str, path: str, *, response: type[M], **options: Any) -> M: ...
    @overload
    def call(self, method: str, path: str, *, response: type[str], **options: Any) -> str: ...
    @overload
    def call(self, method: str, path: str, *, response: None, **options: Any) -> None: ...
    def call(self, method: str, path: str, *, response: Any, **options: Any) -> Any:
        return self.read(self.send(self.prepare(method, path, **options)), response)

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Any request, with the same keys, retries and problems as the operations: for an
        operation newer than this client, or to read an answer's headers. ``json=`` is the
        body; the other options are ``prepare``'s."""
        return self.send(self.prepare(method, path, **options))

    def send(self, prepared: Prepared) -> httpx.Response:
        """The answer, after the retries it deserves; a problem is raised."""
        for attempt in range(self.retry.attempts):
            last = attempt + 1 == self.retry.attempts
            try:
                answer = self.http.request(
                    prepared.method,
                    prepared.url,
                    params=prepared.params,
                    content=prepared.content,
                    headers=prepared.headers,
                    timeout=self.timeout,
                )
            except httpx.TransportError:
                if last:
                    raise
                self._sleep(self.retry.delay(attempt, None))
                continue
            if _retryable(answer) and not last:
                self._sleep(self.retry.delay(attempt, answer))
                continue
            if answer.status_code >= 400:
                raise Problem.from_response(answer)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.http.close()


class AsyncTransport(_Calls):
    def __init__(
        self,
        base_url: str,
        *,
        token: Token = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(token, retry or RetryPolicy(), timeout)
        self.http = http_client(httpx.AsyncClient, base_url, timeout, http)

    @overload
    async def call(self, method: str, path: str, *, response: type[M], **options: Any) -> M: ...
    @overload
    async def call(self, method: str, path: str, *, response: type[str], **options: Any) -> str: ...
    @overload
    async def call(self, method: str, path: str, *, response: None, **options: Any) -> None: ...
    async def call(self, method: str, path: str, *, response: Any, **options: Any) -> Any:
        return self.read(await self.send(self.prepare(method, path, **options)), response)

    async def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Any request, with the same keys, retries and problems as the operations: for an
        operation newer than this client, or to read an answer's headers. ``json=`` is the
        body; the other options are ``prepare``'s."""
        return await self.send(self.prepare(method, path, **options))

    async def send(self, prepared: Prepared) -> httpx.Response:
        """The answer, after the retries it deserves; a problem is raised."""
        for attempt in range(self.retry.attempts):
            last = attempt + 1 == self.retry.attempts
            try:
                answer = await self.http.request(
                    prepared.method,
                    prepared.url,
                    params=prepared.params,
                    content=prepared.content,
                    headers=prepared.headers,
                    timeout=self.timeout,
                )
            except httpx.TransportError:
                if last:
                    raise
                await asyncio.sleep(self.retry.delay(attempt, None))
                continue
            if _retryable(answer) and not last:
                await asyncio.sleep(self.retry.delay(attempt, answer))
                continue
            if answer.status_code >= 400:
                raise Problem.from_response(answer)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.http.aclose()
