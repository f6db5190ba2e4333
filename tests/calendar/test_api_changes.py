"""Changing the calendar over HTTP: an admin imports a year's notice or corrects a date; both are
audited, move the calendar revision and reach the ``on_change`` listeners."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from app.calendar import service
from tests.conftest import problem_of, slug

# A notice for 2027, made up for the tests (the real one is not out yet).
NOTICE_2027: dict[str, Any] = {
    "notice": "国务院办公厅关于2027年部分节假日安排的通知 (test)",
    "holidays": [
        {"date": "2027-01-01", "name": "New Year's Day"},
        {"date": "2027-01-02", "name": "New Year's Day"},
        {"date": "2027-01-03", "name": "New Year's Day"},
        *[{"date": f"2027-02-{d:02}", "name": "Spring Festival"} for d in range(5, 12)],
    ],
    "makeup_workdays": ["2027-02-20"],
}

NON_ADMIN = [
    ("bank_system", None),
    ("relationship_manager", "RM001"),
    ("credit_officer", None),
    ("district_bureau", "440307"),
    ("securitization", None),
]


async def deadline(client, headers, start: str, add: int) -> str | int:
    response = await client.get(
        "/v1/calendar/working-days", params={"from": start, "add": add}, headers=headers
    )
    if response.status_code == 409:
        return problem_of(response)["year"]
    assert response.status_code == 200, response.text
    return response.json()["date"]


async def revision(conn) -> int:
    return await conn.fetchval("SELECT revision FROM calendar_state WHERE id = 1")


@pytest.fixture
async def changes() -> AsyncIterator[list[dict[str, Any]]]:
    """What a registered listener was told, and what it saw in the changing transaction."""
    seen: list[dict[str, Any]] = []

    async def listener(ctx, index, changed_years):
        seen.append(
            {
                "years": changed_years,
                "revision": index.revision,
                "db_revision": await ctx.db.fetchval(f"SELECT {service.CALENDAR_REVISION_SQL}"),
                "index": index,
            }
        )

    service.on_change(listener)
    try:
        yield seen
    finally:
        service.remove_listener(listener)


class TestPublishYear:
    async def test_publishing_2027_lets_deadlines_cross_the_year_end(
        self, client, make_key, conn, changes
    ):
        admin, officer = await make_key("admin"), await make_key("credit_officer")
        assert await deadline(client, officer, "2026-12-28", 5) == 2027
        before = await revision(conn)

        response = await client.put("/v1/calendar/years/2027", json=NOTICE_2027, headers=admin)
        assert response.status_code == 200, response.text
        year = response.json()
        assert year["published"] is True and year["source"] == "admin"
        assert year["notice"] == NOTICE_2027["notice"]
        assert year["version"] == 1 and response.headers["etag"] == '"1"'
        assert year["holidays"][0] == {
            "date": "2027-01-01",
            "name": "New Year's Day",
            "name_zh": "元旦",
        }
        assert year["makeup_workdays"] == [{"date": "2027-02-20", "name": None}]

        assert await revision(conn) > before
        assert await deadline(client, officer, "2026-12-28", 5) == "2027-01-05"
        assert await deadline(client, officer, "2027-02-04", 2) == "2027-02-15"
        assert await deadline(client, officer, "2027-02-19", 1) == "2027-02-20"
        assert (await client.get("/v1/calendar/years/2027", headers=officer)).json() == year

        [change] = changes
        assert change["years"] == {2027}
        assert change["index"].is_published(2027)
        assert change["revision"] == change["db_revision"] == await revision(conn)

    async def test_audited_with_before_and_after(self, client, make_key):
        admin = await make_key("admin")
        await client.put("/v1/calendar/years/2027", json=NOTICE_2027, headers=admin)
        events = await client.get(
            "/v1/audit-events",
            params={"entity_type": "calendar_year", "entity_id": "2027"},
            headers=admin,
        )
        [event] = events.json()["items"]
        assert event["action"] == "calendar_year.published"
        assert event["actor_key_id"] == admin["X-Key-Id"]
        assert event["before"]["published"] is False and event["before"]["holidays"] == {}
        assert event["after"]["source"] == "admin"
        assert event["after"]["holidays"]["2027-02-05"] == "Spring Festival"
        assert event["after"]["makeup_workdays"] == ["2027-02-20"]

    async def test_republishing_replaces_the_days(self, client, make_key, changes):
        admin = await make_key("admin")
        first = {
            **NOTICE_2027,
            "holidays": [*NOTICE_2027["holidays"], {"date": "2027-01-04", "name": "Extra"}],
        }
        assert (
            await client.put("/v1/calendar/years/2027", json=first, headers=admin)
        ).status_code == 200
        assert await deadline(client, admin, "2026-12-31", 1) == "2027-01-05"

        second = await client.put("/v1/calendar/years/2027", json=NOTICE_2027, headers=admin)
        assert second.json()["version"] == 2
        assert "2027-01-04" not in {h["date"] for h in second.json()["holidays"]}
        assert await deadline(client, admin, "2026-12-31", 1) == "2027-01-04"
        assert [c["years"] for c in changes] == [{2027}, {2027}]

    async def test_republishing_a_loaded_year_makes_it_the_admins(self, client, make_key):
        admin = await make_key("admin")
        current = (await client.get("/v1/calendar/years/2026", headers=admin)).json()
        body = {
            "notice": "国务院办公厅关于2026年部分节假日安排的通知",
            "holidays": [
                {"date": h["date"], "name": h["name"]}
                for h in current["holidays"]
                if h["date"] != "2026-10-07"
            ],
            "makeup_workdays": [m["date"] for m in current["makeup_workdays"]],
        }
        response = await client.put("/v1/calendar/years/2026", json=body, headers=admin)
        assert response.status_code == 200
        assert response.json()["source"] == "admin"
        assert response.json()["version"] == current["version"] + 1
        assert await deadline(client, admin, "2026-09-30", 1) == "2026-10-07"

    async def test_if_match(self, client, make_key, conn):
        admin = await make_key("admin")
        stale = await client.put(
            "/v1/calendar/years/2027", json=NOTICE_2027, headers={**admin, "If-Match": '"3"'}
        )
        assert stale.status_code == 412
        assert slug(stale) == "precondition-failed"
        assert (await client.get("/v1/calendar/years/2027", headers=admin)).json()["version"] == 0
        fresh = await client.put(
            "/v1/calendar/years/2027", json=NOTICE_2027, headers={**admin, "If-Match": '"0"'}
        )
        assert fresh.status_code == 200
        again = await client.put(
            "/v1/calendar/years/2027", json=NOTICE_2027, headers={**admin, "If-Match": '"0"'}
        )
        assert again.status_code == 412

    @pytest.mark.parametrize("role,subject", NON_ADMIN)
    async def test_only_admins(self, client, make_key, conn, role, subject):
        headers = await make_key(role, subject)
        before = await revision(conn)
        response = await client.put("/v1/calendar/years/2027", json=NOTICE_2027, headers=headers)
        assert response.status_code == 403
        assert slug(response) == "forbidden"
        assert await revision(conn) == before

    @pytest.mark.parametrize(
        "change,loc",
        [
            (
                {"holidays": [{"date": "2026-12-31", "name": "New Year's Eve"}]},
                ["body", "holidays", 0, "date"],
            ),
            ({"makeup_workdays": ["2028-01-01"]}, ["body", "makeup_workdays", 0]),
            ({"makeup_workdays": ["2027-01-04"]}, ["body", "makeup_workdays", 0]),  # a Monday
            ({"makeup_workdays": ["2027-01-03"]}, ["body", "makeup_workdays", 0]),  # a holiday
            ({"makeup_workdays": ["2027-02-20", "2027-02-20"]}, ["body", "makeup_workdays", 1]),
            (
                {
                    "holidays": [
                        {"date": "2027-01-01", "name": "A"},
                        {"date": "2027-01-01", "name": "B"},
                    ]
                },
                ["body", "holidays", 1, "date"],
            ),
            ({"holidays": [{"date": "2027-01-01", "name": ""}]}, ["body", "holidays", 0, "name"]),
            ({"notice": ""}, ["body", "notice"]),
            ({"holiday": []}, ["body", "holiday"]),
        ],
    )
    async def test_invalid_notices_are_422_with_the_field(
        self, client, make_key, conn, changes, change, loc
    ):
        admin = await make_key("admin")
        before = await revision(conn)
        response = await client.put(
            "/v1/calendar/years/2027", json={**NOTICE_2027, **change}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert loc in [e["loc"] for e in problem_of(response)["errors"]]
        assert await revision(conn) == before
        assert changes == []

    @pytest.mark.parametrize("year", [1989, 2101, 2201])
    async def test_outside_the_calendar_is_404(self, client, make_key, conn, year):
        admin = await make_key("admin")
        before = await revision(conn)
        response = await client.put(f"/v1/calendar/years/{year}", json=NOTICE_2027, headers=admin)
        assert response.status_code == 404
        assert await revision(conn) == before


class TestCorrectDay:
    async def test_an_extra_holiday_moves_deadlines(self, client, make_key, conn, changes):
        admin = await make_key("admin")
        before = await revision(conn)
        version = (await client.get("/v1/calendar/years/2026", headers=admin)).json()["version"]
        response = await client.put(
            "/v1/calendar/days/2026-02-24",
            json={"kind": "holiday", "holiday_name": "Spring Festival", "reason": "extended"},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "date": "2026-02-24",
            "is_working": False,
            "kind": "holiday",
            "holiday_name": "Spring Festival",
            "holiday_name_zh": "春节",
        }
        assert await deadline(client, admin, "2026-02-13", 3) == "2026-02-26"
        assert await revision(conn) > before
        year = (await client.get("/v1/calendar/years/2026", headers=admin)).json()
        assert year["version"] == version + 1
        [change] = changes
        assert change["years"] == {2026}
        assert change["index"].day(date(2026, 2, 24)).kind == "holiday"

        events = await client.get(
            "/v1/audit-events",
            params={"entity_type": "calendar_day", "entity_id": "2026-02-24"},
            headers=admin,
        )
        [event] = events.json()["items"]
        assert event["action"] == "calendar_day.corrected"
        assert event["before"]["kind"] == "workday"
        assert event["after"]["kind"] == "holiday" and event["after"]["reason"] == "extended"

    async def test_a_makeup_saturday_becomes_a_weekend(self, client, make_key):
        admin = await make_key("admin")
        response = await client.put(
            "/v1/calendar/days/2026-02-14",
            json={"kind": "weekend", "reason": "the make-up day was cancelled"},
            headers=admin,
        )
        assert response.status_code == 200
        assert await deadline(client, admin, "2026-02-13", 3) == "2026-02-26"
        year = (await client.get("/v1/calendar/years/2026", headers=admin)).json()
        assert "2026-02-14" not in {m["date"] for m in year["makeup_workdays"]}

    async def test_a_saturday_becomes_a_makeup_workday(self, client, make_key):
        admin = await make_key("admin")
        response = await client.put(
            "/v1/calendar/days/2026-03-07",
            json={"kind": "makeup_workday", "reason": "worked"},
            headers=admin,
        )
        assert response.status_code == 200
        assert await deadline(client, admin, "2026-03-06", 1) == "2026-03-07"

    async def test_the_answer_carries_the_years_new_etag_for_the_next(self, client, make_key):
        admin = await make_key("admin")
        etag = (await client.get("/v1/calendar/years/2026", headers=admin)).headers["etag"]
        first = await client.put(
            "/v1/calendar/days/2026-03-07",
            json={"kind": "makeup_workday", "reason": "worked"},
            headers={**admin, "If-Match": etag},
        )
        assert first.status_code == 200, first.text
        year = await client.get("/v1/calendar/years/2026", headers=admin)
        assert first.headers["etag"] == year.headers["etag"] != etag
        second = await client.put(
            "/v1/calendar/days/2026-03-14",
            json={"kind": "makeup_workday", "reason": "worked too"},
            headers={**admin, "If-Match": first.headers["etag"]},
        )
        assert second.status_code == 200, second.text
        bare = await client.put(
            "/v1/calendar/days/2026-03-21",
            json={"kind": "makeup_workday", "reason": "unquoted"},
            headers={**admin, "If-Match": second.headers["etag"].strip('"')},
        )
        assert bare.status_code == 412  # an entity tag is quoted, as everywhere else
        stale = await client.put(
            "/v1/calendar/days/2026-03-21",
            json={"kind": "makeup_workday", "reason": "stale"},
            headers={**admin, "If-Match": first.headers["etag"]},
        )
        assert stale.status_code == 412

    @pytest.mark.parametrize(
        "day,body,loc",
        [
            ("2026-03-09", {"kind": "weekend"}, ["body", "kind"]),  # a Monday
            ("2026-03-07", {"kind": "workday"}, ["body", "kind"]),  # a Saturday
            ("2026-03-09", {"kind": "makeup_workday"}, ["body", "kind"]),
            ("2026-03-09", {"kind": "holiday"}, ["body", "holiday_name"]),
            ("2026-03-09", {"kind": "workday", "holiday_name": "X"}, ["body", "holiday_name"]),
            ("2026-03-09", {"kind": "day_off"}, ["body", "kind"]),
            ("2026-03-09", {"kind": "workday", "reason": ""}, ["body", "reason"]),
        ],
    )
    async def test_kind_must_fit_the_weekday(self, client, make_key, conn, day, body, loc):
        admin = await make_key("admin")
        before = await revision(conn)
        response = await client.put(
            f"/v1/calendar/days/{day}", json={"reason": "r", **body}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert loc in [e["loc"] for e in problem_of(response)["errors"]]
        assert await revision(conn) == before

    async def test_unpublished_year_is_409(self, client, make_key, conn, changes):
        admin = await make_key("admin")
        before = await revision(conn)
        response = await client.put(
            "/v1/calendar/days/2027-01-04", json={"kind": "workday", "reason": "r"}, headers=admin
        )
        assert response.status_code == 409
        assert slug(response) == "calendar-year-unpublished"
        assert problem_of(response)["year"] == 2027
        assert await revision(conn) == before
        assert changes == []

    async def test_a_date_beyond_the_bounds_or_invalid_is_422(self, client, make_key):
        admin = await make_key("admin")
        body = {"kind": "workday", "reason": "r"}
        # Beyond the dates any caller may send (1990 … 2100).
        response = await client.put("/v1/calendar/days/3000-01-01", json=body, headers=admin)
        assert response.status_code == 422
        response = await client.put("/v1/calendar/days/2026-02-30", json=body, headers=admin)
        assert response.status_code == 422

    @pytest.mark.parametrize("role,subject", NON_ADMIN)
    async def test_only_admins(self, client, make_key, role, subject):
        headers = await make_key(role, subject)
        response = await client.put(
            "/v1/calendar/days/2026-03-09",
            json={"kind": "holiday", "holiday_name": "X", "reason": "r"},
            headers=headers,
        )
        assert response.status_code == 403
        assert await deadline(client, headers, "2026-03-06", 1) == "2026-03-09"
