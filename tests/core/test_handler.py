"""The lean handler answers exactly as FastAPI's own handler would, for every input shape."""

from __future__ import annotations

from contextlib import AsyncExitStack
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.core.handler import lean_handler
from app.core.roles import Role
from app.core.routing import ApiRouter, CtxDep, _ctx, access
from app.core.schemas import Money, Strict
from app.main import create_app
from tests.conftest import make_settings


class ProbeBody(Strict):
    name: str
    amount: Money


class ProbeOut(Strict):
    id: str
    name: str
    amount: Money
    role: str


router = ApiRouter(prefix="/v1/probes")


@router.post("/{probe_id}", status_code=201, response_model=ProbeOut)
@access(Role.ADMIN)
async def make_probe(probe_id: str, body: ProbeBody, ctx: CtxDep, response: Response) -> ProbeOut:
    response.headers["Location"] = f"/v1/probes/{probe_id}"
    return ProbeOut(id=probe_id, name=body.name, amount=body.amount, role=ctx.principal.role)


@router.post("/{probe_id}/accepted", response_model=ProbeOut)
@access(Role.ADMIN)
async def accept_probe(
    probe_id: str, ctx: CtxDep, response: Response, body: ProbeBody | None = None
) -> ProbeOut:
    response.status_code = 202
    name = body.name if body else "none"
    return ProbeOut(id=probe_id, name=name, amount=Decimal("0.00"), role=ctx.principal.role)


@router.get("", response_model=ProbeOut)
@access(Role.ADMIN)
async def list_probes(ctx: CtxDep, name: str = Query("x")) -> ProbeOut:
    return ProbeOut(id="-", name=name, amount=Decimal("0.00"), role=ctx.principal.role)


def _route(name: str) -> APIRoute:
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.name == name)


def _request(path_params: dict[str, str], body: Any) -> Any:
    from starlette.requests import Request

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
        "path_params": path_params,
        "state": {"ctx": SimpleNamespace(principal=SimpleNamespace(role="admin"))},
    }
    request = Request(scope)
    if body is not _NO_BODY:
        request._json = body
        request._body = b"{}"
    else:
        request._body = b""
    return request


_NO_BODY = object()


async def _outcome(handler: Any, request: Any) -> tuple[Any, ...]:
    async with AsyncExitStack() as outer, AsyncExitStack() as inner, AsyncExitStack() as fn:
        request.scope["fastapi_middleware_astack"] = outer
        request.scope["fastapi_inner_astack"] = inner
        request.scope["fastapi_function_astack"] = fn
        try:
            response = await handler(request)
        except RequestValidationError as exc:
            return ("invalid", repr(exc.errors()))  # ValueErrors compare by identity
    return (response.status_code, response.body, sorted(response.headers.items()))


BODIES = [
    {"name": "acme", "amount": "100.25"},
    {"name": "acme", "amount": "100.255"},
    {"name": "acme"},
    {"name": "acme", "amount": "1.00", "extra": 1},
    {"name": 7, "amount": -1},
    None,
    [],
    "text",
    _NO_BODY,
]


@pytest.mark.parametrize("body", BODIES, ids=repr)
@pytest.mark.parametrize("name", ["make_probe", "accept_probe"])
async def test_lean_handler_answers_as_fastapi_does(name: str, body: Any) -> None:
    route = _route(name)
    lean = lean_handler(route, _ctx)
    assert lean is not None
    generic = APIRoute.get_route_handler(route)

    expected = await _outcome(generic, _request({"probe_id": "p-1"}, body))
    actual = await _outcome(lean, _request({"probe_id": "p-1"}, body))
    assert actual == expected


def test_operations_with_query_parameters_keep_fastapis_handler() -> None:
    assert lean_handler(_route("list_probes"), _ctx) is None


def test_the_service_hot_paths_take_the_lean_handler() -> None:
    app = create_app(make_settings())
    lean = {
        (next(iter(route.methods)), route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and lean_handler(route, _ctx) is not None
    }
    assert ("POST", "/v1/applications") in lean
    assert ("POST", "/v1/applications/{application_id}/submit") in lean
    assert ("GET", "/v1/applications/{application_id}") in lean
    assert ("POST", "/v1/loans/{loan_id}/repayments") in lean
