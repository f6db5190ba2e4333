from __future__ import annotations

from app.core.errors import DomainError


class PoolLimitViolated(DomainError):
    slug, status, title = (
        "pool-limit-violated",
        409,
        "The pool would break its target or a concentration limit",
    )


class LoanNotEligible(DomainError):
    slug, status, title = "loan-not-eligible", 409, "The loan is not eligible for this pool"


class LoanAlreadyPooled(DomainError):
    slug, status, title = "loan-already-pooled", 409, "The loan is in another pool"
