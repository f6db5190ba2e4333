"""Every /v1 operation runs through ``ApiRoute``: the one place that authenticates, checks the
role, parses the body exactly, opens the unit of work and commits it.

An endpoint declares who may call it with ``@access(...)`` under its route decorator; a /v1
route without a rule refuses to start, so no endpoint can forget authorisation. A request is
one unit of work: services never commit; the route commits once, after the response is built,
so that the response stored for an Idempotency-Key commits with the effect it describes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import Response

from app.core import idempotency, jsonutil, outbox
from app.core.context import Ctx, Principal
from app.core.errors import Forbidden, ValidationFailed
from app.core.handler import lean_handler
from app.core.roles import ALL_ROLES, Role

F = TypeVar("F", bound=Callable[..., Any])
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[Role]
    public: bool = False
    # False only for an endpoint whose whole effect is one SQL statement (its audit and outbox
    # rows folded in): it then runs without BEGIN/COMMIT, which are two round trips.
    transactional: bool = True
    # Streaming responses read the database while they are sent; they open their own connection.
    streams: bool = False
    # For a POST whose answer's representation the request chooses (``Accept``): names the
    # representation chosen, which the Idempotency-Key's fingerprint then covers, so that a
    # replay is always the representation asked for, byte for byte.
    variant: Callable[[Request], str] | None = None

    def allows(self, principal: Principal) -> bool:
        return self.public or principal.role in self.roles


def access(
    *roles: Role | Iterable[Role],
    transactional: bool = True,
    streams: bool = False,
    variant: Callable[[Request], str] | None = None,
) -> Callable[[F], F]:
    flat: set[Role] = set()
    for item in roles:
        if isinstance(item, Role):
            flat.add(item)
        else:
            flat.update(item)
    if not flat:
        raise ValueError("name at least one role, or use @public")

    def mark(endpoint: F) -> F:
        endpoint.__access__ = Access(  # type: ignore[attr-defined]
            roles=frozenset(flat), transactional=transactional, streams=streams, variant=variant
        )
        return endpoint

    return mark


def any_key(endpoint: F) -> F:
    endpoint.__access__ = Access(roles=ALL_ROLES)  # type: ignore[attr-defined]
    return endpoint


def public(endpoint: F) -> F:
    endpoint.__access__ = Access(roles=frozenset(), public=True)  # type: ignore[attr-defined]
    return endpoint


SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <api key>`; keys are issued by admins.",
    }
}


async def _ctx(request: Request) -> Ctx:
    return request.state.ctx


CtxDep = Annotated[Ctx, Depends(_ctx)]
"""The request's context: its connection, the caller, the time it arrived."""


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        rule: Access | None = getattr(endpoint, "__access__", None)
        if rule is None:
            raise RuntimeError(f"{path}: every operation needs an access rule (@access or @public)")
        if not rule.public:
            # Documented here rather than as a security dependency: the check itself happens
            # once, in ``unit_of_work``, and a dependency would cost every request its solving.
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["security"] = [{"bearerAuth": []}]
            extra["x-roles"] = sorted(role.value for role in rule.roles)
            kwargs["openapi_extra"] = extra
        self.access = rule
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = lean_handler(self, _ctx) or super().get_route_handler()
        rule = self.access
        writes = bool(self.methods & _WRITE_METHODS)
        has_body = self.body_field is not None

        async def unit_of_work(request: Request) -> Response:
            state = request.app.state
            if rule.public:
                return await handler(request)
            principal = await state.keys.authenticate(request.headers.get("authorization"))
            request.scope["ipledge.key_id"] = principal.key_id
            if not rule.allows(principal):
                raise Forbidden(f"the {principal.role.value} role may not do this")

            body = b""
            if has_body:
                body = await request.body()
                if body:
                    try:
                        request._json = jsonutil.loads(body)
                    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
                        raise ValidationFailed(
                            "the body is not valid JSON",
                            errors=[{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}],
                        ) from None

            claim = None
            key = request.headers.get(idempotency.HEADER)
            if key is not None and request.method == "POST":
                target = request.url.path
                if request.url.query:
                    target = f"{target}?{request.url.query}"
                if rule.variant is not None:
                    target = f"{target}\n{rule.variant(request)}"
                claim = idempotency.Claim(
                    key=idempotency.validate_key(key),
                    request_hash=idempotency.request_hash(request.method, target, body),
                )

            if rule.streams:
                request.state.principal = principal
                return await handler(request)

            # A write that is one statement outside a transaction takes no connection up front:
            # its statement may share a round trip with others' (``app.core.batch``).
            single = writes and not rule.transactional and claim is None
            database = state.database
            async with database.lazy_connection() if single else database.connection() as db:
                ctx = Ctx(
                    db=db,
                    principal=principal,
                    now=state.clock.now(),
                    settings=state.settings,
                    request_id=request.scope.get("ipledge.request_id", "-"),
                    if_match=request.headers.get("if-match"),
                )
                request.state.ctx = ctx
                if not writes or (not rule.transactional and claim is None):
                    response = await handler(request)
                    if outbox.has_pending(ctx):
                        raise RuntimeError(
                            f"{self.path}: audit or events queued outside a transaction"
                        )
                    return response
                async with db.transaction():
                    if claim is not None:
                        replay = await idempotency.begin(ctx, claim)
                        if replay is not None:
                            return replay
                    response = await handler(request)
                    stored = None
                    if claim is not None and 200 <= response.status_code < 300:
                        stored = idempotency.stored_response(ctx, claim, response)
                    await outbox.flush(ctx, stored)
            return response

        return unit_of_work


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint functions' names: stable and readable."""
    return route.name


class ApiRouter(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", ApiRoute)
        kwargs.setdefault("generate_unique_id_function", operation_id)
        super().__init__(**kwargs)
