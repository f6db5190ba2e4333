from __future__ import annotations

from app.core.errors import DomainError


class DefaultNotAllowed(DomainError):
    slug, status, title = (
        "default-not-allowed",
        409,
        "A loan may be declared defaulted only once it is 90 or more days past due",
    )


class Overpayment(DomainError):
    slug, status, title = (
        "overpayment",
        422,
        "The amount is more than the payoff amount on its value date",
    )


class PayoffRequired(DomainError):
    slug, status, title = (
        "payoff-required",
        422,
        "A repayment that repays all principal must be the payoff amount",
    )


class LockedRateBelowZero(DomainError):
    slug, status, title = (
        "locked-rate-below-zero",
        409,
        "The application's locked rate is below 0: no loan can be made at it",
    )
