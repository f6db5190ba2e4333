"""The clients: every operation of the API as a method (``Client``, and ``AsyncClient`` for
asyncio), over the transport that authenticates, retries and raises problems."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from ipledge_client._operations import AsyncOperations, Operations
from ipledge_client.transport import AsyncTransport, RetryPolicy, Timeout, Token, Transport


class Client(Operations):
    """``Client("http://127.0.0.1:8000", token=key)``; ``token`` is an API key or a token of
    the bank's identity provider (or a function returning a fresh one for each request).

    ``timeout`` (seconds, or an ``httpx.Timeout``) holds for every request, on the client's
    own connection pool or on ``http``, an ``httpx.Client`` of yours; not given, it is 30 s on
    the client's own pool and ``http``'s own timeout on yours."""

    def __init__(
        self,
        base_url: str,
        *,
        token: Token = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = Transport(base_url, token=token, retry=retry, timeout=timeout, http=http)

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Any request, with the keys, retries and problems of the operations (``json=`` for
        a body, ``params=``, ``accept=``, ``idempotency_key=``, ``if_match=``, ``headers=``)."""
        return self._http.request(method, path, **options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(AsyncOperations):
    """The same operations, each a coroutine."""

    def __init__(
        self,
        base_url: str,
        *,
        token: Token = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = AsyncTransport(base_url, token=token, retry=retry, timeout=timeout, http=http)

    async def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        return await self._http.request(method, path, **options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
