"""Every /v1 operation runs through ``ApiRoute``: the one place that authenticates, checks the
role, parses the body exactly, opens the unit of work and commits it.

An endpoint declares who may call it with ``@access(...)`` under its route decorator; a /v1
route without a rule refuses to start, so no endpoint can forget authorisation. A request is
one unit of work: one connection and, for a write, one transaction. Services never commit; the
route commits once, after the response is built, so that the response stored for an
Idempotency-Key commits with the effect it describes.

``ApiRoute`` is FastAPI's documented extension point (a custom ``APIRoute`` whose
``get_route_handler`` wraps the standard handler, with a custom ``Request`` class).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import Response

from app.core import idempotency, jsonutil, openapi, outbox
from app.core.context import Ctx, Principal
from app.core.db import Database, Db
from app.core.errors import Forbidden, NotFound, ValidationFailed, field_error
from app.core.roles import ALL_ROLES, Role

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[Role]
    public: bool = False
    # False only for a write whose whole effect is one statement (its audit rows and events
    # written by that statement): it runs without BEGIN/COMMIT, and its statement may share a
    # round trip with other requests' (``app.core.batch``, docs/decisions/0201).
    transactional: bool = True
    # Streaming responses read the database while they are sent; they open their own connection.
    streams: bool = False
    # A single-statement write that stores its Idempotency-Key response in that statement too
    # (the CTEs of ``app.core.outbox.claim_ctes``): a keyed request stays one statement.
    claims_in_statement: bool = False
    # For a POST whose answer's representation the request chooses (``Accept``): names the
    # representation chosen, which the Idempotency-Key's fingerprint then covers, so that a
    # replay is always the representation asked for, byte for byte.
    variant: Callable[[Request], str] | None = None
    # What the operation's OpenAPI entry declares beyond what every route has (``ApiRoute``):
    # it honours If-Match (``app.core.concurrency`` or a check of ``ctx.if_match`` of its own),
    # its success carries the ETag of the version it answers, its 201 a Location.
    if_match: bool = False
    etag: bool = False
    location: bool = False
    # Members of the answer shown once (a secret): the answer kept for an Idempotency-Key has
    # them null, so that no secret is kept at rest beside its hash and a replay never shows it.
    shown_once: tuple[str, ...] = ()

    def allows(self, principal: Principal) -> bool:
        return self.public or principal.role in self.roles


def _mark(endpoint: F, rule: Access) -> F:
    setattr(endpoint, "__access__", rule)  # noqa: B010 - read back by ApiRoute
    return endpoint


def access(
    *roles: Role | Iterable[Role],
    transactional: bool = True,
    streams: bool = False,
    claims_in_statement: bool = False,
    variant: Callable[[Request], str] | None = None,
    if_match: bool = False,
    etag: bool = False,
    location: bool = False,
    shown_once: tuple[str, ...] = (),
) -> Callable[[F], F]:
    flat: set[Role] = set()
    for item in roles:
        if isinstance(item, Role):
            flat.add(item)
        else:
            flat.update(item)
    if not flat:
        raise ValueError("name at least one role, or use @public")
    if shown_once and not transactional:
        # Only the unit of work's transaction keeps an answer without its secrets.
        raise ValueError("shown_once needs a transactional operation")
    rule = Access(
        roles=frozenset(flat),
        transactional=transactional,
        streams=streams,
        claims_in_statement=claims_in_statement and not transactional,
        variant=variant,
        if_match=if_match,
        etag=etag,
        location=location,
        shown_once=shown_once,
    )
    return lambda endpoint: _mark(endpoint, rule)


def any_key(endpoint: F) -> F:
    return _mark(endpoint, Access(roles=ALL_ROLES))


def public(endpoint: F) -> F:
    return _mark(endpoint, Access(roles=frozenset(), public=True))


class ApiRequest(Request):
    """A request whose JSON body is parsed once, exactly (``app.core.jsonutil``: numbers to
    ``Decimal``, duplicate members refused), before FastAPI validates it."""

    parsed_body: Any = None

    async def json(self) -> Any:
        return self.parsed_body


async def _ctx(request: Request) -> Ctx:
    ctx: Ctx = request.state.ctx
    return ctx


CtxDep = Annotated[Ctx, Depends(_ctx)]
"""The request's context: its connection, the caller, the time it arrived."""


# --- the steps of a request ---------------------------------------------------------------


async def _authorise(request: Request, rule: Access) -> Principal:
    principal: Principal = await request.app.state.keys.authenticate(
        request.headers.get("authorization")
    )
    request.scope["ipledge.key_id"] = principal.key_id
    if not rule.allows(principal):
        raise Forbidden(f"the {principal.role.value} role may not do this")
    return principal


async def _read_body(request: ApiRequest) -> bytes:
    body = await request.body()
    if body:
        try:
            request.parsed_body = jsonutil.loads(body)
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:
            raise ValidationFailed(
                "the body is not valid JSON",
                errors=[{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}],
            ) from None
    return body


async def _read_no_body(request: ApiRequest) -> bytes:
    """The body of a write that takes none: empty or ``{}``. Anything else is refused, as an
    unknown member of any other body is, rather than dropped unread."""
    body = await _read_body(request)
    if not body or request.parsed_body == {}:
        return body
    if isinstance(request.parsed_body, dict):
        errors = [
            field_error(["body", name], "Extra inputs are not permitted", "extra_forbidden")
            for name in request.parsed_body
        ]
    else:
        errors = [field_error(["body"], "this operation takes no body", "extra_forbidden")]
    raise ValidationFailed("this operation takes no body", errors=errors)


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters an operation defines, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _check_query(request: Request, defined: frozenset[str]) -> None:
    """A query parameter the operation does not define is refused, as an unknown member of a
    body is: a misspelt filter (``?stat=draft``) would otherwise list everything."""
    if not request.scope.get("query_string"):
        return
    unknown = [name for name in request.query_params if name not in defined]
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter: {unknown[0][:64]}",
            errors=[
                field_error(
                    ["query", name[:64]], "Extra inputs are not permitted", "extra_forbidden"
                )
                for name in unknown
            ],
        )


def _claim(request: Request, body: bytes, rule: Access) -> idempotency.Claim | None:
    key = request.headers.get(idempotency.HEADER)
    if key is None or request.method != "POST":
        return None
    target = request.url.path
    if request.url.query:
        target = f"{target}?{request.url.query}"
    if rule.variant is not None:
        target = f"{target}\n{rule.variant(request)}"
    return idempotency.Claim(
        key=idempotency.validate_key(key),
        request_hash=idempotency.request_hash(request.method, target, body),
    )


def _context(
    request: Request, db: Db, principal: Principal, claim: idempotency.Claim | None = None
) -> Ctx:
    state = request.app.state
    ctx = Ctx(
        db=db,
        principal=principal,
        now=state.clock.now(),
        settings=state.settings,
        request_id=request.scope.get("ipledge.request_id", "-"),
        if_match=request.headers.get("if-match"),
        claim=claim,
    )
    request.state.ctx = ctx
    return ctx


def _is_path_uuid_error(error: Any) -> bool:
    loc = error.get("loc", ())
    return len(loc) == 2 and loc[0] == "path" and str(error.get("type", "")).startswith("uuid_")


def _unknown_path_id(exc: RequestValidationError) -> NotFound | None:
    """A path id that is not even well-formed names nothing: 404, as for any unknown id."""
    errors: Sequence[Any] = exc.errors()
    if not errors or any(not _is_path_uuid_error(error) for error in errors):
        return None
    name = str(errors[0]["loc"][1]).removesuffix("_id").replace("_", " ")
    return NotFound(f"no such {name}")


async def _handle(handler: Handler, request: Request) -> Response:
    try:
        return await handler(request)
    except RequestValidationError as exc:
        raise (_unknown_path_id(exc) or exc) from None


async def _single_statement(
    handler: Handler,
    request: Request,
    database: Database,
    principal: Principal,
    path: str,
    claim: idempotency.Claim | None = None,
) -> Response:
    """A write that is one statement outside a transaction; it holds no connection up front
    (``Database.lazy_connection``), so its statement may go through the batcher. With
    ``claim`` the statement stores the response for its Idempotency-Key itself."""
    async with database.lazy_connection() as db:
        ctx = _context(request, db, principal, claim)
        try:
            response = await _handle(handler, request)
        except outbox.AlreadyAnswered as answered:
            return answered.response
        if outbox.has_pending(ctx):
            raise RuntimeError(f"{path}: audit or events queued outside a transaction")
        return response


async def _read(
    handler: Handler, request: Request, database: Database, principal: Principal
) -> Response:
    async with database.connection() as db:
        _context(request, db, principal)
        return await _handle(handler, request)


async def _write(
    handler: Handler,
    request: Request,
    database: Database,
    principal: Principal,
    claim: idempotency.Claim | None,
    shown_once: tuple[str, ...] = (),
) -> Response:
    """The unit of work of a write: one transaction; the audit entries, events and stored
    response the request queued are written just before it commits."""
    async with database.connection() as db, db.transaction():
        ctx = _context(request, db, principal)
        if claim is not None:
            replay = await idempotency.begin(ctx, claim)
            if replay is not None:
                return replay
        response = await _handle(handler, request)
        stored = None
        if claim is not None and 200 <= response.status_code < 300:
            stored = idempotency.stored_response(ctx, claim, response, withheld=shown_once)
        await outbox.flush(ctx, stored)
    return response


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        rule: Access | None = getattr(endpoint, "__access__", None)
        if rule is None:
            raise RuntimeError(f"{path}: every operation needs an access rule (@access or @public)")
        openapi.describe(rule, kwargs)
        self.access = rule
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        rule = self.access
        writes = bool((self.methods or set()) & openapi.WRITE_METHODS)
        has_body = self.body_field is not None
        path = self.path
        query = _query_names(self.dependant)

        async def unit_of_work(plain: Request) -> Response:
            request = ApiRequest(plain.scope, plain.receive)
            if rule.public:
                return await _handle(handler, request)
            principal = await _authorise(request, rule)
            _check_query(request, query)
            if has_body:
                body = await _read_body(request)
            else:
                body = await _read_no_body(request) if writes else b""
            claim = _claim(request, body, rule)
            database: Database = request.app.state.database
            if rule.streams:
                request.state.principal = principal
                return await _handle(handler, request)
            if not writes:
                return await _read(handler, request, database, principal)
            if not rule.transactional and (claim is None or rule.claims_in_statement):
                return await _single_statement(handler, request, database, principal, path, claim)
            return await _write(handler, request, database, principal, claim, rule.shown_once)

        return unit_of_work


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint functions' names: stable and readable."""
    return route.name


class ApiRouter(APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", ApiRoute)
        kwargs.setdefault("generate_unique_id_function", operation_id)
        super().__init__(**kwargs)
