from __future__ import annotations

from app.core.errors import DomainError


class DuplicateCreditCode(DomainError):
    """Carries ``existing_enterprise_id``: the enterprise that already has the code."""

    slug, status, title = (
        "duplicate-credit-code",
        409,
        "An enterprise with this unified social credit code already exists",
    )
