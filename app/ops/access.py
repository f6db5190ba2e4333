"""Who may read /metrics: anyone, or (``IPLEDGE_METRICS_TOKEN`` set) whoever sends it as a
bearer token."""

from __future__ import annotations

import hmac

from app.config import Settings


def metrics_allowed(settings: Settings, authorization: str | None) -> bool:
    if settings.metrics_token is None:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)
