"""Resource ids: UUIDv7, so that they sort by creation time (newest-first pages need no
extra index) while revealing nothing of the service's volume."""

from __future__ import annotations

import os
import re
import time
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from app.core.errors import NotFound

# The form ids are given out in (RFC 9562, either case): ``UUID()`` alone also reads braces, a
# ``urn:uuid:`` prefix and the hyphens left out, which would give one resource many addresses.
_CANONICAL = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_last = [0, 0]  # the last (millisecond, sequence) this process used


def uuid7() -> UUID:
    """Strictly increasing within the process: ids made in the same millisecond take the next
    value of a 12-bit sequence (RFC 9562, method 1), so "newest first" is exact."""
    ms = time.time_ns() // 1_000_000
    random = int.from_bytes(os.urandom(10), "big")  # one system call: 16 + 64 random bits
    last_ms, last_seq = _last
    if ms <= last_ms:
        ms, seq = last_ms, last_seq + 1
        if seq > 0xFFF:
            ms, seq = last_ms + 1, 0
    else:
        seq = (random >> 64) & 0x3FF  # leave room to count up
    _last[0], _last[1] = ms, seq
    rand_b = random & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= seq << 64  # rand_a, used as the sequence
    value |= 0b10 << 62  # variant
    value |= rand_b
    return UUID(int=value)


def parse_id(value: str, what: str = "resource") -> UUID:
    """An id typed by an operator (``ipledge keys revoke``): one not even well-formed (only the
    8-4-4-4-12 form, either case) cannot exist, as for any unknown id. Paths take ``PathId``."""
    if not _CANONICAL.fullmatch(value):
        raise NotFound(f"no such {what}")
    return UUID(value)


def _canonical(value: Any) -> Any:
    if isinstance(value, str) and not _CANONICAL.fullmatch(value):
        raise PydanticCustomError("uuid_parsing", "not an id of the 8-4-4-4-12 form")
    return value


PathId = Annotated[UUID, BeforeValidator(_canonical)]
"""A resource id in a path: only the form ids are given out in, so that one resource has one
address; anything else names nothing (``app.core.routing`` answers it 404)."""
