"""The demo calls the service as an integrator would: through ``ipledge-client``.

``Api.as_(key)`` is the typed client of one caller (one key); ``get``/``post``/``put`` are its
plain-JSON requests for the steps that show raw answers. Either way every POST carries an
Idempotency-Key that its retries repeat, failed connections and 503s are retried, and a refusal
is an ``ipledge_client.Problem`` (``ApiError`` here).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import ipledge_client as ic

from app.core.types import SHANGHAI

ApiError = ic.Problem


class Unreachable(Exception):
    """No service answers at the URL."""


def field_errors(problem: ic.Problem) -> list[str]:
    return [f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in problem.errors]


def _shape(template: str) -> str:
    """A path template with its parameters unnamed: ``/v1/pools/{}/tape``."""
    return re.sub(r"\{[^}]*\}", "{}", template)


class Api:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._clients: dict[str | None, ic.Client] = {}
        self._operations: dict[tuple[str, str], str] | None = None

    def as_(self, key: str | None) -> ic.Client:
        """The client of the caller holding ``key`` (none: unauthenticated)."""
        client = self._clients.get(key)
        if client is None:
            retry = ic.RetryPolicy(attempts=3, backoff_s=0.5, max_delay_s=10)
            client = ic.Client(self.base_url, token=key, retry=retry, timeout=self._timeout)
            self._clients[key] = client
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def request(
        self, method: str, path: str, *, key: str | None = None, **options: Any
    ) -> httpx.Response:
        try:
            return self.as_(key).request(method, path, **options)
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc

    def get(self, path: str, key: str | None, **params: Any) -> Any:
        return self.request("GET", path, key=key, params=params).json()

    def post(self, path: str, key: str, body: Any = None, **options: Any) -> Any:
        return self.request("POST", path, key=key, json=body, **options).json()

    def put(self, path: str, key: str, body: Any) -> Any:
        return self.request("PUT", path, key=key, json=body).json()

    def docs(self, method: str, path: str) -> str:
        """The Swagger UI's deep link to an operation, found in the service's own OpenAPI
        document (``/docs`` alone when the service has no such operation)."""
        if self._operations is None:
            self._operations = {}
            try:
                document = self.request("GET", "/openapi.json").json()
            except (ApiError, Unreachable, ValueError):
                document = {}
            for template, operations in document.get("paths", {}).items():
                for verb, operation in operations.items():
                    if isinstance(operation, dict) and operation.get("operationId"):
                        tag = (operation.get("tags") or ["default"])[0]
                        self._operations[(verb.upper(), _shape(template))] = (
                            f"{quote(tag)}/{operation['operationId']}"
                        )
        anchor = self._operations.get((method, _shape(path)))
        return f"{self.base_url}/docs" + (f"#/{anchor}" if anchor else "")

    def service_today(self) -> tuple[str, date]:
        """The service's health and its date in Asia/Shanghai (from its ``Date`` header)."""
        response = self.request("GET", "/healthz")
        header = response.headers.get("date")
        moment = parsedate_to_datetime(header) if header else datetime.now(UTC)
        return response.json().get("status", "?"), moment.astimezone(SHANGHAI).date()
