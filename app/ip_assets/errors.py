from __future__ import annotations

from app.core.errors import DomainError


class DuplicateIpAsset(DomainError):
    """Carries ``existing_ip_asset_id``: the asset already registered under the number."""

    slug, status, title = (
        "duplicate-ip-asset",
        409,
        "An IP asset of this kind and number is already registered",
    )
