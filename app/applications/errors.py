from __future__ import annotations

from app.core.errors import DomainError


class IpAssetAlreadyPledged(DomainError):
    slug, status, title = (
        "ip-asset-already-pledged",
        409,
        "An IP asset already secures a live pledge of another application",
    )
