"""HTTP's own rules, for every path of the OpenAPI document: a method the path does not have is
405 with ``Allow`` naming every method it does have; and the calendar day correction, like
every other state change, honours ``If-Match``."""

from __future__ import annotations

from typing import ClassVar

import pytest

from app.main import create_app
from tests.conftest import make_settings, problem_of, slug

DOCUMENT = create_app(make_settings(), listen=False).openapi()
METHODS = ("get", "put", "post", "patch", "delete")
PATHS = sorted(DOCUMENT["paths"])


def _concrete(path: str) -> str:
    """The path with a plausible value in every parameter (its routes match any value)."""
    for name in ("year",):
        path = path.replace("{" + name + "}", "2026")
    for name in ("day", "fixing_date"):
        path = path.replace("{" + name + "}", "2026-03-09")
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "0190a0a0-0000-7000-8000-000000000000" + path[end + 1 :]
    return path


@pytest.mark.parametrize("path", PATHS)
async def test_a_method_the_path_lacks_is_405_with_every_allowed_method(client, make_key, path):
    documented = {m.upper() for m in DOCUMENT["paths"][path] if m in METHODS}
    missing = [m.upper() for m in METHODS if m.upper() not in documented]
    admin = await make_key("admin")
    for method in missing:
        response = await client.request(method, _concrete(path), headers=admin)
        assert response.status_code == 405, (method, path, response.text)
        assert slug(response) == "method-not-allowed"
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert allowed - {"HEAD"} == documented, (method, path, allowed)


class TestCalendarDayIfMatch:
    BODY: ClassVar[dict[str, str]] = {
        "kind": "holiday",
        "holiday_name": "Extra day",
        "reason": "announced late",
    }

    async def _year_etag(self, client, admin) -> str:
        response = await client.get("/v1/calendar/years/2026", headers=admin)
        assert response.status_code == 200
        return response.headers["etag"]

    async def test_a_stale_version_is_412_and_changes_nothing(self, client, make_key):
        admin = await make_key("admin")
        etag = await self._year_etag(client, admin)
        first = await client.put(
            "/v1/calendar/days/2026-03-09", json=self.BODY, headers={**admin, "If-Match": etag}
        )
        assert first.status_code == 200, first.text
        moved = await self._year_etag(client, admin)
        assert moved != etag
        stale = await client.put(
            "/v1/calendar/days/2026-03-10", json=self.BODY, headers={**admin, "If-Match": etag}
        )
        assert stale.status_code == 412
        problem_of(stale)
        days = await client.get(
            "/v1/calendar/days", params={"from": "2026-03-10", "to": "2026-03-10"}, headers=admin
        )
        assert days.json()["items"][0]["kind"] == "workday"
        assert await self._year_etag(client, admin) == moved

    async def test_the_current_version_or_none_is_accepted(self, client, make_key):
        admin = await make_key("admin")
        current = await self._year_etag(client, admin)
        ok = await client.put(
            "/v1/calendar/days/2026-03-11", json=self.BODY, headers={**admin, "If-Match": current}
        )
        assert ok.status_code == 200, ok.text
        unconditional = await client.put(
            "/v1/calendar/days/2026-03-12", json=self.BODY, headers=admin
        )
        assert unconditional.status_code == 200, unconditional.text


class TestUnknownQueryParameters:
    """A query parameter the operation does not define is refused, as an unknown member of a
    body is, rather than ignored: a misspelt filter would list everything."""

    async def test_a_misspelt_filter_is_422_naming_it(self, client, make_key):
        officer = await make_key("credit_officer")
        response = await client.get("/v1/applications?stat=draft", headers=officer)
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"] == [
            {
                "loc": ["query", "stat"],
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
        ]

    async def test_on_a_write_too_and_nothing_changes(self, client, make_key, conn):
        admin = await make_key("admin")
        before = await conn.fetchval("SELECT count(*) FROM api_keys")
        response = await client.post(
            "/v1/api-keys?role=admin", json={"role": "admin", "name": "x"}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == before

    async def test_the_defined_ones_still_pass(self, client, make_key):
        officer = await make_key("credit_officer")
        response = await client.get(
            "/v1/applications?state=draft&limit=5&district_code=440307", headers=officer
        )
        assert response.status_code == 200, response.text

    async def test_an_anonymous_caller_learns_nothing_from_it(self, client):
        response = await client.get("/v1/applications?stat=draft")
        assert response.status_code == 401
