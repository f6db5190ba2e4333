"""Route dispatch by path prefix.

Starlette tries every route's regular expression in turn; with some sixty operations that is a
dozen or more matches per request before the right one. Every /v1 route starts with a fixed
``/v1/<collection>``, so requests are matched only against the routes of their collection.
Anything the index does not settle (a 404, a trailing-slash redirect, a route added later) goes
to the router's own dispatch, unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.routing import BaseRoute, Match, Router


def _prefix(path: str) -> str:
    return "/".join(path.split("/", 3)[:3])


class PrefixDispatch:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.middleware_stack
        index: dict[str, list[BaseRoute]] = defaultdict(list)
        for route in router.routes:
            path = getattr(route, "path", None)
            if path is None or "{" in _prefix(path):
                continue
            index[_prefix(path)].append(route)
        self.index = dict(index)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        routes = self.index.get(_prefix(scope["path"])) if scope["type"] == "http" else None
        if routes:
            partial = None
            for route in routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
                if match is Match.PARTIAL and partial is None:
                    partial = (route, child_scope)
            if partial is not None:
                route, child_scope = partial
                scope.setdefault("router", self.router)
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def install(router: Router) -> None:
    router.middleware_stack = PrefixDispatch(router)
