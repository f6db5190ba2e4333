"""Route dispatch by path prefix.

Starlette tries every route's regular expression in turn; with some sixty operations that is a
dozen or more matches per request before the right one. Every /v1 route starts with a fixed
``/v1/<collection>``, so requests are matched only against the routes of their collection, and
first against the one route whose method, number of segments and last segment (a fixed word,
or a parameter) fit the request: ``POST /v1/applications/{id}/quotes`` is then one match, not
the ninth of eleven. Anything the index does not settle (a 404, a 405, a trailing-slash
redirect, a route added later) goes to the router's own dispatch, unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.routing import BaseRoute, Match, Router


def _prefix(path: str) -> str:
    return "/".join(path.split("/", 3)[:3])


def _shape(path: str) -> tuple[int, str | None]:
    """How many segments a route's path has, and its last one when that is a fixed word."""
    segments = path.split("/")
    last = segments[-1]
    return len(segments), None if "{" in last else last


class PrefixDispatch:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.middleware_stack
        index: dict[str, list[BaseRoute]] = defaultdict(list)
        exact: dict[tuple[str, str, int, str | None], BaseRoute] = {}
        for route in router.routes:
            path = getattr(route, "path", None)
            if path is None or "{" in _prefix(path):
                continue
            index[_prefix(path)].append(route)
            if ":" in path:  # a convertor (``{rest:path}``) may span segments
                continue
            count, last = _shape(path)
            for method in getattr(route, "methods", None) or ():
                # In Starlette's order the first route that fits wins: a route ending in a
                # fixed word after one of its shape ending in a parameter is never reached.
                if last is not None and (method, _prefix(path), count, None) in exact:
                    continue
                exact.setdefault((method, _prefix(path), count, last), route)
        self.index = dict(index)
        self.exact = exact

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path = scope["path"]
        prefix = _prefix(path)
        count, last = _shape(path)
        method = scope["method"]
        for key in ((method, prefix, count, last), (method, prefix, count, None)):
            route = self.exact.get(key)
            if route is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    await self._enter(route, child_scope, scope, receive, send)
                    return
        routes = self.index.get(prefix)
        if routes:
            partial = None
            for route in routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    await self._enter(route, child_scope, scope, receive, send)
                    return
                if match is Match.PARTIAL and partial is None:
                    partial = (route, child_scope)
            if partial is not None:
                await self._enter(*partial, scope, receive, send)
                return
        await self.fallback(scope, receive, send)

    async def _enter(
        self, route: BaseRoute, child_scope: dict[str, Any], scope: dict[str, Any], *io: Any
    ) -> None:
        """What Starlette's router does once a route matched."""
        scope.setdefault("router", self.router)
        scope.update(child_scope)
        await route.handle(scope, *io)


def install(router: Router) -> None:
    router.middleware_stack = PrefixDispatch(router)
