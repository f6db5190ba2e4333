"""Problems the pricing endpoints can answer beyond the core ones."""

from __future__ import annotations

from app.core.errors import DomainError


class LprUnavailable(DomainError):
    slug, status, title = "lpr-unavailable", 409, "No LPR fixing is in force on that date"
