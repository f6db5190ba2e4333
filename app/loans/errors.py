from __future__ import annotations

from app.core.errors import DomainError


class DefaultNotAllowed(DomainError):
    slug, status, title = (
        "default-not-allowed",
        409,
        "A loan may be declared defaulted only once it is 90 or more days past due",
    )
