"""Optimistic concurrency for callers: ``ETag`` on reads, ``If-Match`` on state changes."""

from __future__ import annotations

from starlette.responses import Response

from app.core.context import Ctx
from app.core.errors import PreconditionFailed


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


# The largest version a resource can reach (its column is a PostgreSQL ``integer``): a tag
# naming a larger one names no version at all.
MAX_VERSION = 2**31 - 1
_MAX_DIGITS = len(str(MAX_VERSION))


def _version_of(tag: str) -> int | None:
    """The version an entity tag names: ``"3"`` or ``W/"3"``, in ASCII digits written as the
    service writes them (no sign, no leading zero, no ``_``) and within ``MAX_VERSION``; None
    for any other tag. Python's ``isdigit`` and ``int`` would also take ``"١"`` or, with a 500
    on the way, ``"²"`` and numbers of thousands of digits."""
    tag = tag.removeprefix("W/")
    if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"':
        return None
    digits = tag[1:-1]
    if len(digits) > _MAX_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    if digits != "0" and digits.startswith("0"):
        return None
    version = int(digits)
    return version if version <= MAX_VERSION else None


def named_versions(header: str) -> frozenset[int] | None:
    """The versions an ``If-Match`` header names (a list matches when any tag does); None when
    it holds ``*``, which matches any."""
    tags = [part.strip() for part in header.split(",")]
    if "*" in tags:
        return None
    return frozenset(v for v in map(_version_of, tags) if v is not None)


def check_if_match(ctx: Ctx, version: int) -> None:
    """412 when the caller's If-Match names another version of the resource."""
    header = ctx.if_match
    if header is None:
        return
    wanted = named_versions(header)
    if wanted is None or version in wanted:
        return
    raise PreconditionFailed(
        f"the resource is at version {version}; read it again", current_version=version
    )


def if_match_versions(ctx: Ctx) -> list[int] | None:
    """The versions an If-Match header asks for, to check inside a conditional statement
    (``version = ANY(...)``); None when there is no header (or it is ``*``). A header that
    names no version can never match: 412 at once."""
    header = ctx.if_match
    if header is None:
        return None
    versions = named_versions(header)
    if versions is None:
        return None
    if not versions:
        raise PreconditionFailed("If-Match names no version of this resource")
    return sorted(versions)
