"""A bank desk for tests: keys for every role, an enterprise with IP assets, and helpers
that drive applications through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from tests import factories


@dataclass
class Desk:
    """A bank desk: keys for each role, an enterprise with IP assets, and the API client."""

    client: httpx.AsyncClient
    bank: dict[str, str]
    rm: dict[str, str]
    rm_id: str
    other_rm: dict[str, str]
    officer: dict[str, str]
    admin: dict[str, str]
    enterprise_id: UUID
    conn: Any = None
    assets: list[UUID] = field(default_factory=list)

    async def create(self, *, assets: list[UUID] | None = None, headers=None, **body: Any) -> dict:
        """A draft naming ``assets``, or a fresh asset of the enterprise of its own."""
        if assets is None:
            assets = [await factories.ip_asset(self.conn, self.enterprise_id)]
        payload = factories.application_body(self.enterprise_id, assets, **body)
        response = await self.client.post(
            "/v1/applications", json=payload, headers=headers or self.rm
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def submit(
        self, application: dict | str, *, expect: int = 200, headers=None, **body: Any
    ) -> dict:
        app_id = application if isinstance(application, str) else application["id"]
        response = await self.client.post(
            f"/v1/applications/{app_id}/submit", json=body or None, headers=headers or self.rm
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def act(
        self, application: dict | str, action: str, *, expect: int = 200, headers=None, **body: Any
    ) -> dict:
        app_id = application if isinstance(application, str) else application["id"]
        response = await self.client.post(
            f"/v1/applications/{app_id}/{action}",
            json=body or None,
            headers=headers or self.officer,
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def get(self, application: dict | str, headers=None) -> dict:
        app_id = application if isinstance(application, str) else application["id"]
        response = await self.client.get(f"/v1/applications/{app_id}", headers=headers or self.rm)
        assert response.status_code == 200, response.text
        return response.json()


async def _desk(client, issue_key, enterprise_id: UUID, *, conn=None, assets=()) -> Desk:
    """A desk with a key of every role from ``issue_key`` (``make_key`` or ``make_live_key``)."""
    rm_id = f"RM{factories._unique_digits(6)}"
    return Desk(
        client=client,
        bank=await issue_key("bank_system"),
        rm=await issue_key("relationship_manager", rm_id),
        rm_id=rm_id,
        other_rm=await issue_key("relationship_manager", rm_id + "X"),
        officer=await issue_key("credit_officer"),
        admin=await issue_key("admin"),
        enterprise_id=enterprise_id,
        conn=conn,
        assets=list(assets),
    )


async def make_desk(
    client,
    make_key,
    conn,
    *,
    assets: int = 3,
    district: str = "440307",
    industry: str = "artificial_intelligence",
) -> Desk:
    enterprise_id = await factories.enterprise(conn, district_code=district, industry=industry)
    desk = await _desk(client, make_key, enterprise_id, conn=conn)
    for _ in range(assets):
        desk.assets.append(await factories.ip_asset(conn, enterprise_id))
    return desk


async def live_desk(
    make_live_key, live_client, enterprise_id: UUID, *, conn=None, assets=()
) -> Desk:
    """A desk whose keys are committed, for tests of real concurrency (``live_client``)."""
    return await _desk(live_client, make_live_key, enterprise_id, conn=conn, assets=assets)
