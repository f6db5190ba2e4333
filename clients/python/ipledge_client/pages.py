"""Cursor pages as iterators: each list operation has an ``iter_…`` twin that follows
``next_cursor`` until the last page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T", covariant=True)
Item = TypeVar("Item")


class Page(Protocol[T]):
    @property
    def items(self) -> Sequence[T]: ...

    @property
    def next_cursor(self) -> str | None: ...


def paginate(fetch: Callable[..., Page[Item]]) -> Iterator[Item]:
    """Every item of every page; ``fetch(cursor=…)`` reads one page."""
    cursor: str | None = None
    while True:
        page = fetch(cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


async def apaginate(fetch: Callable[..., Awaitable[Page[Item]]]) -> AsyncIterator[Item]:
    cursor: str | None = None
    while True:
        page = await fetch(cursor=cursor)
        for item in page.items:
            yield item
        cursor = page.next_cursor
        if not cursor:
            return
