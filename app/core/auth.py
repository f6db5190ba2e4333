"""API keys: random, shown once, stored as a SHA-256 hash, compared in constant time.

A key reads ``ipk_<key id>_<secret>``. The id finds the row; the secret's hash is compared with
``hmac.compare_digest``. Lookups are cached per process for ``key_cache_ttl_s``; a revocation is
announced with NOTIFY so every API process forgets the key at once. The cache holds at most
``key_cache_max_entries`` keys, the least recently used leaving first, and remembers an unknown
key for a few seconds only: a flood of made-up keys costs bounded memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from uuid import UUID

from app.core.context import Principal
from app.core.errors import Unauthenticated
from app.core.roles import Role

PREFIX = "ipk_"
NOTIFY_CHANNEL = "ipledge_api_keys"
_NEGATIVE_TTL_S = 5.0
DEFAULT_MAX_ENTRIES = 10_000


def new_secret() -> tuple[str, bytes]:
    secret = secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def format_key(key_id: UUID, secret: str) -> str:
    return f"{PREFIX}{key_id.hex}_{secret}"


def parse_key(token: str) -> tuple[UUID, str] | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    body = token[len(PREFIX) :]
    key_hex, sep, secret = body.partition("_")
    if not sep or len(key_hex) != 32 or not secret:
        return None
    try:
        return UUID(hex=key_hex), secret
    except ValueError:
        return None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class KeyCredentials(Protocol):
    """What the cache needs of a live key (the keys domain's ``LiveKey``, which the core does
    not import): its role as stored, its subject and its secret's hash."""

    @property
    def role(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def secret_hash(self) -> bytes: ...


# A live key, or None when unknown or revoked.
KeyRow = KeyCredentials | None
Loader = Callable[[UUID], Awaitable[KeyRow]]


class KeyCache:
    def __init__(self, load: Loader, ttl_s: float, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._load = load
        self._ttl = ttl_s
        self._max = max(1, max_entries)
        # Least recently used first; at most ``max_entries``.
        self._entries: OrderedDict[UUID, tuple[float, KeyRow]] = OrderedDict()
        self._inflight: dict[UUID, asyncio.Future[KeyRow]] = {}
        # Bearer tokens that are not API keys: the OpenID Connect check, when one is set up.
        self.tokens: Callable[[str], Awaitable[Principal]] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def _remember(self, key_id: UUID, row: KeyRow) -> None:
        ttl = self._ttl if row is not None else min(self._ttl, _NEGATIVE_TTL_S)
        if ttl <= 0:
            return
        self._entries[key_id] = (time.monotonic() + ttl, row)
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, key_id: UUID | None = None) -> None:
        if key_id is None:
            self._entries.clear()
        else:
            self._entries.pop(key_id, None)

    async def _row(self, key_id: UUID) -> KeyRow:
        now = time.monotonic()
        hit = self._entries.get(key_id)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(key_id)
            return hit[1]
        pending = self._inflight.get(key_id)
        if pending is not None:
            if hit is not None:
                # Aged out and being loaded again by another request: served as it was until
                # a moment ago. (Revoked keys are forgotten at once, not aged out, so none is
                # served here.) Waiting for that round trip held up every request of the
                # key once per TTL.
                return hit[1]
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyRow] = asyncio.get_running_loop().create_future()
        self._inflight[key_id] = future
        try:
            row = await self._load(key_id)
            self._remember(key_id, row)
            future.set_result(row)
            return row
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._inflight.pop(key_id, None)

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated("send Authorization: Bearer <api key>")
        parsed = parse_key(token)
        if parsed is None and self.tokens is not None and not token.startswith(PREFIX):
            return await self.tokens(token)
        if parsed is None:
            raise Unauthenticated("unknown API key")
        key_id, secret = parsed
        row = await self._row(key_id)
        presented = hash_secret(secret)
        stored = row.secret_hash if row is not None else b"\0" * 32
        if not hmac.compare_digest(presented, stored) or row is None:
            raise Unauthenticated("unknown API key")
        return Principal(key_id=key_id, role=Role(row.role), subject=row.subject)


def listen_payload(payload: Any) -> UUID | None:
    try:
        return UUID(str(payload))
    except ValueError:
        return None
