"""The demo's HTTP client: the service's API as a bank integrator calls it.

Every POST carries a fresh ``Idempotency-Key``; when the connection drops before an answer the
same request is sent once more under the same key, so that it is done once whatever happened
to the first answer.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.core.schemas import SHANGHAI


class ApiError(Exception):
    """The service answered something other than what the step expected."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        self.method = method
        self.path = path
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        self.problem: dict[str, Any] = body if isinstance(body, dict) else {}
        if not self.problem:
            self.problem = {"detail": response.text[:300]}
        super().__init__(f"{method} {path} answered {self.status}: {self.detail}")

    @property
    def slug(self) -> str:
        return str(self.problem.get("type", "")).rsplit("/", 1)[-1]

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    def field_errors(self) -> list[str]:
        errors = self.problem.get("errors") or []
        return [
            f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}"
            for e in errors
            if isinstance(e, dict)
        ]

    def about(self, *loc: str) -> bool:
        """Whether a field error points at ``loc`` (e.g. ``"body", "received_at"``)."""
        wanted = list(loc)
        return any(
            isinstance(e, dict) and list(e.get("loc", []))[: len(wanted)] == wanted
            for e in self.problem.get("errors") or []
        )


def _shape(template: str) -> str:
    """A path template with its parameters unnamed: ``/v1/pools/{}/tape``."""
    return re.sub(r"\{[^}]*\}", "{}", template)


class Unreachable(Exception):
    """No service answers at the URL."""


class Api:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._operations: dict[tuple[str, str], str] | None = None

    def close(self) -> None:
        self.http.close()

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

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200, 201),
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        headers = {"Accept": accept}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or f"demo-{uuid.uuid4()}"
        attempts = 2 if method in ("POST", "PUT", "GET") else 1
        for attempt in range(attempts):
            try:
                response = self.http.request(
                    method, path, json=json, params=params, headers=headers
                )
                break
            except httpx.TransportError as exc:
                if attempt + 1 == attempts:
                    raise Unreachable(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code not in expect:
            raise ApiError(method, path, response)
        return response

    def get(self, path: str, key: str | None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, key=key, params=query).json()

    def post(self, path: str, key: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, key=key, json=body, **kwargs).json()

    def put(self, path: str, key: str, body: Any) -> Any:
        return self.request("PUT", path, key=key, json=body).json()

    def service_today(self) -> tuple[str, date]:
        """The service's health and its date in Asia/Shanghai (from its ``Date`` header)."""
        response = self.request("GET", "/healthz")
        header = response.headers.get("date")
        moment = parsedate_to_datetime(header) if header else datetime.now(UTC)
        return response.json().get("status", "?"), moment.astimezone(SHANGHAI).date()
