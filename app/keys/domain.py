"""An API key as the service hands it out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LiveKey:
    """A key that is not revoked: what authenticating a request with it takes (the key cache,
    ``app.core.auth.KeyCredentials``). ``role`` is as stored; the cache makes it a ``Role``."""

    role: str
    subject: str | None
    secret_hash: bytes
