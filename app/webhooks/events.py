"""The event types a webhook endpoint may subscribe to (SPEC.md 3.8)."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "application.submitted",
    "application.approved",
    "application.declined",
    "application.sla_at_risk",
    "application.sla_breached",
    "pledge.registered",
    "pledge.released",
    "pledge.enforced",
    "loan.disbursed",
    "loan.paid_off",
    "loan.defaulted",
    "loan.classification_changed",
    "subsidy.claim.created",
    "subsidy.claim.approved",
    "subsidy.claim.rejected",
    "subsidy.claim.paid",
    "subsidy.budget_exhausted",
    "pool.locked",
    "pool.transferred",
)

KNOWN = frozenset(EVENT_TYPES)

# Events about no one district (a pool holds loans of many): an endpoint bound to a district
# would never receive them, so it may not subscribe to them.
WITHOUT_DISTRICT = frozenset({"pool.locked", "pool.transferred"})
