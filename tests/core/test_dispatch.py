"""Prefix dispatch sends every request to the route Starlette's own routing would, only
sooner: the same route for every method, shape and order of registration, and the same 404,
405 and redirects when no route fits."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core import dispatch


def _endpoint(name: str):
    async def endpoint(request):
        params = ",".join(f"{k}={v}" for k, v in sorted(request.path_params.items()))
        return PlainTextResponse(f"{name}:{params}")

    return endpoint


ROUTES = [
    ("/v1/things", ["POST"], "create"),
    ("/v1/things", ["GET"], "list"),
    ("/v1/things/{thing_id}", ["GET"], "read"),
    # Registered after a route of its shape ending in a parameter: Starlette never reaches it.
    ("/v1/things/special", ["GET"], "shadowed"),
    # Registered before one: reached.
    ("/v1/things/{thing_id}/parts", ["POST"], "add part"),
    ("/v1/things/{thing_id}/{part}", ["POST"], "any part"),
    ("/v1/things/{thing_id}/parts", ["GET"], "list parts"),
    ("/v1/things/{thing_id}/a/{x}", ["POST"], "a"),
    ("/v1/things/{thing_id}/b/{x}", ["POST"], "b"),
    ("/v1/files/{rest:path}", ["GET"], "file"),
]

REQUESTS = [
    ("POST", "/v1/things"),
    ("GET", "/v1/things"),
    ("DELETE", "/v1/things"),
    ("GET", "/v1/things/7"),
    ("HEAD", "/v1/things/7"),
    ("GET", "/v1/things/special"),
    ("POST", "/v1/things/7/parts"),
    ("POST", "/v1/things/7/wheels"),
    ("GET", "/v1/things/7/parts"),
    ("GET", "/v1/things/7/wheels"),
    ("POST", "/v1/things/7/a/1"),
    ("POST", "/v1/things/7/b/1"),
    ("POST", "/v1/things/7/c/1"),
    ("GET", "/v1/files/a/b/c.txt"),
    ("GET", "/v1/things/"),
    ("GET", "/v1/nothing"),
    ("GET", "/elsewhere"),
]


def _app(*, indexed: bool) -> Starlette:
    app = Starlette(
        routes=[Route(path, _endpoint(name), methods=methods) for path, methods, name in ROUTES]
    )
    if indexed:
        dispatch.install(app.router)
    return app


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_the_same_route_as_starlettes_own_routing(method, path):
    answers = []
    for indexed in (False, True):
        transport = httpx.ASGITransport(app=_app(indexed=indexed))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.request(method, path, follow_redirects=False)
            answers.append((response.status_code, response.headers.get("location"), response.text))
    assert answers[1] == answers[0]


def test_a_route_after_its_shape_is_not_indexed_ahead_of_it():
    router = _app(indexed=True).router
    index = router.middleware_stack
    assert isinstance(index, dispatch.PrefixDispatch)
    assert ("GET", "/v1/things", 4, "special") not in index.exact
    assert ("POST", "/v1/things", 5, "parts") in index.exact
