"""Optimistic concurrency for callers: ``ETag`` on reads, ``If-Match`` on state changes."""

from __future__ import annotations

from starlette.responses import Response

from app.core.context import Ctx
from app.core.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(ctx: Ctx, version: int) -> None:
    """412 when the caller's If-Match names another version of the resource."""
    header = ctx.if_match
    if header is None:
        return
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    if "*" in wanted or etag(version) in wanted:
        return
    raise PreconditionFailed(
        f"the resource is at version {version}; read it again", current_version=version
    )


def if_match_version(ctx: Ctx) -> int | None:
    """The version an If-Match header asks for, to check inside a conditional statement; None
    when there is no header (or it is ``*``). A tag that names no version can never match."""
    header = ctx.if_match
    if header is None:
        return None
    tags = [part.strip().removeprefix("W/") for part in header.split(",")]
    if "*" in tags:
        return None
    for tag in tags:
        if len(tag) >= 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            return int(tag[1:-1])
    raise PreconditionFailed("If-Match names no version of this resource")
