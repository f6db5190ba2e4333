"""Helpers shared by the report tests."""

from __future__ import annotations

import httpx


async def report(
    client: httpx.AsyncClient,
    name: str,
    headers: dict[str, str],
    start: str,
    end: str,
    expect: int = 200,
) -> dict:
    response = await client.get(
        f"/v1/reports/{name}", params={"from": start, "to": end}, headers=headers
    )
    assert response.status_code == expect, response.text
    return response.json()
