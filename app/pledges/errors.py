from __future__ import annotations

from app.core.errors import DomainError


class PledgeNotRegistered(DomainError):
    slug, status, title = (
        "pledge-not-registered",
        409,
        "Every pledge must be registered with CNIPA first",
    )
