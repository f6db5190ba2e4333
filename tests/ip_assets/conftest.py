"""Factories for IP assets: fresh valid numbers of each kind, request bodies, and assets
created through the service in the test's transaction."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import pytest

from app.core import outbox
from app.identifiers import PATENT_TYPE_DIGITS, patent_check_digit
from app.ip_assets import service as ip_assets_service
from app.ip_assets.schemas import IpAssetCreate, IpAssetOut
from tests.enterprises.conftest import key_for, make_enterprise, tick  # noqa: F401 - shared fixtures


def new_number(kind: str) -> str:
    """A valid number nobody else is using."""
    if kind in PATENT_TYPE_DIGITS:
        body = f"2024{PATENT_TYPE_DIGITS[kind][0]}{secrets.randbelow(10**7):07d}"
        return f"{body}.{patent_check_digit(body)}"
    if kind == "trademark":
        return str(10**8 + secrets.randbelow(9 * 10**8))
    return f"2025SR{secrets.randbelow(10**7):07d}"


def asset_body(holder: UUID | str, /, **overrides: Any) -> dict[str, Any]:
    kind = overrides.get("kind", "invention_patent")
    body: dict[str, Any] = {
        "kind": kind,
        "number": new_number(kind),
        "title": "一种无人机集群协同避障方法",
        "holder_enterprise_id": str(holder),
    }
    if kind == "trademark":
        body["nice_class"] = 9
    body.update(overrides)
    return body


@pytest.fixture
def make_ip_asset(ctx):
    async def create(holder: UUID, /, **overrides: Any) -> IpAssetOut:
        await tick()
        asset = await ip_assets_service.create_ip_asset(
            ctx, asset_in=IpAssetCreate(**asset_body(holder, **overrides))
        )
        await outbox.flush(ctx)
        return asset

    return create
