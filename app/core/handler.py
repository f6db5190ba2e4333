"""A lean request handler for the common shape of a /v1 operation.

FastAPI's generic handler solves a dependency graph on every request: it inspects content
types, walks the dependant tree, copies defaults and builds an intermediate response object,
which costs about a fifth of a simple write's CPU. Most operations here have one shape: path
parameters that are plain strings, the request's context (``CtxDep``), optionally the
``Response`` to set headers on, optionally one JSON body model, and a response model. For
exactly that shape this module builds a handler that does the same work directly, with
FastAPI's own validation and serialisation functions, so that errors and output are the same
byte for byte. Any other shape (query parameters, other dependencies, custom response
classes, streams) keeps FastAPI's handler.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from fastapi import params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import _validate_value_with_model_field
from fastapi.exceptions import RequestValidationError
from fastapi.routing import serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from fastapi.routing import APIRoute

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_UNDEFINED: Any = FieldInfo().default  # pydantic's PydanticUndefined


def lean_handler(route: APIRoute, context: Callable[..., Any]) -> Handler | None:
    """The lean handler for ``route``, or None when its shape needs FastAPI's."""
    dependant = route.dependant
    call = dependant.call
    if (
        call is None
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.request_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or not isinstance(route.response_class, DefaultPlaceholder)
        or route.response_field is None
        or route._embed_body_fields
        or len(dependant.body_params) > 1
        or route.response_model_include is not None
        or route.response_model_exclude is not None
        or route.response_model_exclude_unset
        or route.response_model_exclude_defaults
        or route.response_model_exclude_none
        or not route.response_model_by_alias
    ):
        return None
    if any(d.call is not context or d.dependencies or not d.name for d in dependant.dependencies):
        return None
    if any(field.field_info.annotation is not str for field in dependant.path_params):
        return None
    body_field = route.body_field
    if body_field is not None and isinstance(body_field.field_info, params.Form):
        return None

    context_names = [d.name for d in dependant.dependencies]
    path_names = [(field.name, field.alias) for field in dependant.path_params]
    response_name = dependant.response_param_name
    response_field = route.response_field
    status_code = route.status_code

    async def handle(request: Request) -> Response:
        values: dict[str, Any] = {}
        path_params = request.path_params
        for name, alias in path_names:
            values[name] = path_params[alias]
        if context_names:
            ctx = request.state.ctx
            for name in context_names:
                values[name] = ctx
        if body_field is not None:
            body = getattr(request, "_json", _UNDEFINED)
            value, errors = _validate_value_with_model_field(
                field=body_field, value=body, values=values, loc=("body",)
            )
            if errors:
                raise RequestValidationError(errors, body=None if body is _UNDEFINED else body)
            values[body_field.name] = value
        sub: Response | None = None
        if response_name is not None:
            sub = Response()
            del sub.headers["content-length"]
            sub.status_code = None  # type: ignore[assignment]
            values[response_name] = sub

        raw = await call(**values)
        if isinstance(raw, Response):
            return raw
        content = await serialize_response(
            field=response_field,
            response_content=raw,
            is_coroutine=True,
            dump_json=True,
        )
        code = status_code
        if sub is not None and sub.status_code:
            code = sub.status_code
        response = (
            Response(content=content, media_type="application/json", status_code=code)
            if code
            else Response(content=content, media_type="application/json")
        )
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub is not None:
            response.headers.raw.extend(sub.headers.raw)
        return response

    return handle
