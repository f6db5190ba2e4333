"""Walking every operation of the OpenAPI document: a plausible request for each, built from its
schema, and every place (body member, query or path parameter) a hostile value can go.

The hostile-input suites (``test_hostile_*.py``) parametrize over ``OPERATIONS``, so an
operation added to the API is covered the day it lands, with no list to keep up to date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from app.main import create_app
from tests.conftest import make_settings

DOCUMENT = create_app(make_settings(), listen=False).openapi()
SCHEMAS = DOCUMENT["components"]["schemas"]
METHODS = ("get", "put", "post", "patch", "delete")
UNKNOWN_ID = "0190a0a0-0000-7000-8000-000000000000"
RAW = "\u2063raw\u2063"  # a placeholder member value, replaced by raw JSON text
# The key each role needs a subject for.
SUBJECTS = {"relationship_manager": "RM-WALK", "district_bureau": "440307"}


@dataclass(frozen=True)
class Place:
    """Where a value goes: ``("body", "criteria", "districts", 0)``, ``("query", "on")``."""

    loc: tuple[str | int, ...]
    schema: dict[str, Any]

    @property
    def where(self) -> str:
        return str(self.loc[0])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def role(self) -> str:
        roles = self.spec.get("x-roles") or ["admin"]
        return "admin" if "admin" in roles else roles[0]

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return list(self.spec.get("parameters", []))

    @property
    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return resolve(media["schema"]) if media else None

    def places(self) -> Iterator[Place]:
        for parameter in self.parameters:
            if parameter["in"] == "header":
                # Request headers (Idempotency-Key, If-Match) are no text input: their rules
                # are tested in tests/security/test_transport.py and tests/core.
                continue
            yield Place((parameter["in"], parameter["name"]), resolve(parameter["schema"]))
        body = self.body_schema
        if body is not None:
            yield from _leaves(body, ("body",))

    def request(
        self, headers: dict[str, str], place: Place | None = None, value: Any = None
    ) -> dict[str, Any]:
        """The operation's request, with ``value`` at ``place`` (a ``RAW``-wrapped string is
        written into the body as raw JSON text)."""
        path_values = {
            p["name"]: sample(resolve(p["schema"]), p["name"])
            for p in self.parameters
            if p["in"] == "path"
        }
        params = {
            p["name"]: sample(resolve(p["schema"]), p["name"])
            for p in self.parameters
            if p["in"] == "query" and p.get("required")
        }
        body = sample(self.body_schema, "body") if self.body_schema is not None else None
        raw: str | None = None
        if place is not None:
            if isinstance(value, str) and value.startswith(RAW):
                raw, value = value[len(RAW) :], RAW
            kind, *rest = place.loc
            if kind == "path":
                path_values[str(rest[0])] = value
            elif kind == "query":
                params[str(rest[0])] = value
            elif kind == "body":
                body = _put(body, rest, value)
        url = self.path
        for name, filled in path_values.items():
            url = url.replace("{" + name + "}", quote(str(filled), safe=""))
        content = None
        if body is not None or self.body_schema is not None:
            text = json.dumps(body if body is not None else {}, ensure_ascii=False)
            if raw is not None:
                text = text.replace(json.dumps(RAW, ensure_ascii=False), raw)
            content = text.encode()
            headers = {**headers, "Content-Type": "application/json"}
        return {
            "method": self.method.upper(),
            "url": url,
            "params": params,
            "headers": headers,
            "content": content,
        }


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without ``$ref`` and without the null of an optional value."""
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        solid = [v for v in variants if v.get("type") != "null"]
        if len(solid) == 1:
            return {
                **{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")},
                **resolve(solid[0]),
            }
    return schema


def kinds(schema: dict[str, Any]) -> set[str]:
    """What a value at this place may be: ``date``, ``integer``, ``string``, ``money``…"""
    schema = resolve(schema)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        found = set().union(*(kinds(v) for v in variants))
        if {"string", "number"} <= found:
            found.add("money")
        return found
    out = {schema.get("type", "object")}
    if schema.get("format") == "date":
        out.add("date")
    return out


def sample(schema: dict[str, Any] | None, name: str = "") -> Any:
    """A plausible value: every member of an object, one item of an array."""
    if schema is None:
        return None
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return sample(variants[0], name)
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "object" or "properties" in schema:
        return {k: sample(v, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), name)]
    if kind == "integer":
        if name == "year":
            return 2026
        return int(schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if fmt == "date":
        return "2026-03-09"
    if fmt == "date-time":
        return "2026-03-09T10:00:00+08:00"
    if fmt == "uuid" or name.endswith("_id") or name == "id":
        return UNKNOWN_ID
    pattern = schema.get("pattern", "")
    if "0-9]{6}" in pattern or "d{6}" in pattern:
        return "440307"
    if "0-9]{1,18}" in pattern:
        return "1.00"
    return "x"


def _leaves(schema: dict[str, Any], loc: tuple[str | int, ...]) -> Iterator[Place]:
    schema = resolve(schema)
    if "properties" in schema:
        for name, member in schema["properties"].items():
            yield from _leaves(member, (*loc, name))
    elif schema.get("type") == "array":
        yield from _leaves(schema.get("items", {}), (*loc, 0))
    else:
        yield Place(loc, schema)


def _put(body: Any, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(head, int):
        items = list(body) if isinstance(body, list) and body else [None]
        items[0] = _put(items[0], rest, value)
        return items
    target = dict(body) if isinstance(body, dict) else {}
    target[head] = _put(target.get(head), rest, value)
    return target


OPERATIONS = [
    Operation(method, path, spec)
    for path, item in sorted(DOCUMENT["paths"].items())
    for method, spec in item.items()
    if method in METHODS
]
BY_LABEL = {op.label: op for op in OPERATIONS}


def operations_with(kind: str) -> list[str]:
    """The labels of the operations with at least one place of this kind."""
    return [op.label for op in OPERATIONS if any(kind in kinds(p.schema) for p in op.places())]


async def key_for(make_key: Any, operation: Operation) -> dict[str, str]:
    role = operation.role
    return await make_key(role, SUBJECTS.get(role))


def refused_at(response: httpx.Response, place: Place, *, status: int = 422) -> str | None:
    """None when the response is a problem of ``status`` naming ``place`` (or a place inside
    it); else what is wrong."""
    if response.status_code != status:
        return f"{response.status_code} (not {status}): {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"not a problem: {response.headers.get('content-type')}"
    body = response.json()
    if body.get("status") != status or "/problems/" not in body.get("type", ""):
        return f"malformed problem: {body}"
    if status != 422:
        return None
    locs = [tuple(e["loc"]) for e in body.get("errors") or []]
    if not any(loc[: len(place.loc)] == place.loc for loc in locs):
        return f"{place.loc} not among the errors {locs}"
    return None
