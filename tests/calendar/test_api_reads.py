"""Reading the calendar over HTTP: working-day arithmetic and years, for any key."""

from __future__ import annotations

import pytest

from tests.conftest import problem_of, slug

ROLES = [
    ("bank_system", None),
    ("relationship_manager", "RM001"),
    ("credit_officer", None),
    ("district_bureau", "440307"),
    ("securitization", None),
    ("admin", None),
]


async def working_days(client, headers, start: str, add: int | str):
    return await client.get(
        "/v1/calendar/working-days", params={"from": start, "add": add}, headers=headers
    )


class TestWorkingDays:
    @pytest.mark.parametrize("role,subject", ROLES)
    async def test_any_key_may_ask(self, client, make_key, role, subject):
        headers = await make_key(role, subject)
        response = await working_days(client, headers, "2026-02-13", 3)
        assert response.status_code == 200
        assert response.json() == {"from": "2026-02-13", "add": 3, "date": "2026-02-25"}

    async def test_no_key_is_401(self, client):
        response = await working_days(client, {}, "2026-02-13", 3)
        assert response.status_code == 401

    @pytest.mark.parametrize(
        "start,add,expected",
        [
            ("2026-03-07", 3, "2026-03-11"),  # received on a Saturday
            ("2026-09-30", 3, "2026-10-10"),  # a make-up Saturday is the deadline
            ("2026-10-03", 3, "2026-10-10"),  # received on a holiday
            ("2026-05-07", 3, "2026-05-11"),  # through Labour Day's make-up Saturday
            ("2026-02-13", 10, "2026-03-05"),
            ("2026-02-13", 0, "2026-02-13"),
        ],
    )
    async def test_deadlines(self, client, make_key, start, add, expected):
        headers = await make_key("credit_officer")
        response = await working_days(client, headers, start, add)
        assert response.status_code == 200
        assert response.json()["date"] == expected

    async def test_running_into_an_unpublished_year_is_409_with_the_year(self, client, make_key):
        headers = await make_key("bank_system")
        response = await working_days(client, headers, "2026-12-28", 5)
        assert response.status_code == 409
        assert slug(response) == "calendar-year-unpublished"
        assert problem_of(response)["year"] == 2027

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "2026-02-13", "add": 1001},
            {"from": "2026-02-13", "add": -1},
            {"from": "2026-02-13", "add": "three"},
            {"from": "2026-02-30", "add": 3},
            {"from": "13/02/2026", "add": 3},
            {"add": 3},
            {"from": "2026-02-13"},
        ],
    )
    async def test_bad_queries_are_422(self, client, make_key, params):
        headers = await make_key("bank_system")
        response = await client.get("/v1/calendar/working-days", params=params, headers=headers)
        assert response.status_code == 422
        assert slug(response) == "validation-error"

    async def test_a_thousand_days(self, client, make_key):
        headers = await make_key("bank_system")
        response = await working_days(client, headers, "2010-01-04", 1000)
        assert response.status_code == 200
        assert response.json()["date"] == "2014-01-03"


class TestYears:
    async def test_a_published_year(self, client, make_key):
        headers = await make_key("relationship_manager", "RM001")
        response = await client.get("/v1/calendar/years/2026", headers=headers)
        assert response.status_code == 200
        year = response.json()
        assert year["year"] == 2026 and year["published"] is True
        assert year["source"] == "chinese-calendar 1.11.0"
        assert year["published_at"].endswith("+08:00")
        assert response.headers["etag"] == f'"{year["version"]}"'
        holidays = {h["date"]: (h["name"], h["name_zh"]) for h in year["holidays"]}
        assert holidays["2026-02-16"] == ("Spring Festival", "春节")
        assert holidays["2026-10-01"] == ("National Day", "国庆节")
        # A weekend inside a holiday is named for it.
        assert holidays["2026-02-15"] == ("Spring Festival", "春节")
        assert "2026-03-07" not in holidays  # a plain weekend is not a holiday
        assert [d for d in holidays if d.startswith("2026-05")] == [
            "2026-05-01",
            "2026-05-02",
            "2026-05-03",
            "2026-05-04",
            "2026-05-05",
        ]
        assert year["makeup_workdays"] == [
            {"date": "2026-01-04", "name": "New Year's Day"},
            {"date": "2026-02-14", "name": "Spring Festival"},
            {"date": "2026-02-28", "name": "Spring Festival"},
            {"date": "2026-05-09", "name": "Labour Day"},
            {"date": "2026-09-20", "name": "National Day"},
            {"date": "2026-10-10", "name": "National Day"},
        ]

    async def test_an_unpublished_year_is_200_and_empty(self, client, make_key):
        headers = await make_key("district_bureau", "440307")
        response = await client.get("/v1/calendar/years/2027", headers=headers)
        assert response.status_code == 200
        assert response.json() == {
            "year": 2027,
            "published": False,
            "source": None,
            "notice": None,
            "published_at": None,
            "version": 0,
            "holidays": [],
            "makeup_workdays": [],
        }

    # The calendar's years are those of the dates a caller may send (1990-01-01 … 2100-12-31).
    @pytest.mark.parametrize("year", [1989, 2101, 1899, 2201, 0, 99999])
    async def test_outside_the_calendar_is_404(self, client, make_key, year):
        headers = await make_key("bank_system")
        response = await client.get(f"/v1/calendar/years/{year}", headers=headers)
        assert response.status_code == 404
        assert slug(response) == "not-found"

    @pytest.mark.parametrize("spelling", ["02026", "002026", "00"])
    async def test_a_year_has_one_spelling(self, client, make_key, spelling):
        headers = await make_key("bank_system")
        response = await client.get(f"/v1/calendar/years/{spelling}", headers=headers)
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"][0]["loc"] == ["path", "year"]

    async def test_edges_of_the_calendar_exist(self, client, make_key):
        headers = await make_key("bank_system")
        for year in (1990, 2100):
            response = await client.get(f"/v1/calendar/years/{year}", headers=headers)
            assert response.status_code == 200
            assert response.json()["published"] is False


class TestDays:
    async def test_a_range_across_the_last_published_year_end(self, client, make_key):
        headers = await make_key("securitization")
        response = await client.get(
            "/v1/calendar/days", params={"from": "2026-12-31", "to": "2027-01-02"}, headers=headers
        )
        assert response.status_code == 200
        assert response.json() == {
            "items": [
                {
                    "date": "2026-12-31",
                    "is_working": True,
                    "kind": "workday",
                    "holiday_name": None,
                    "holiday_name_zh": None,
                }
            ],
            "unpublished_years": [2027],
        }

    async def test_a_holiday_week(self, client, make_key):
        headers = await make_key("securitization")
        response = await client.get(
            "/v1/calendar/days", params={"from": "2026-09-28", "to": "2026-10-11"}, headers=headers
        )
        kinds = [(d["date"][5:], d["kind"]) for d in response.json()["items"]]
        assert kinds[2:4] == [("09-30", "workday"), ("10-01", "holiday")]
        assert kinds[-2:] == [("10-10", "makeup_workday"), ("10-11", "weekend")]

    @pytest.mark.parametrize(
        "params",
        [{"from": "2026-01-01", "to": "2027-02-05"}, {"from": "2026-02-01", "to": "2026-01-31"}],
    )
    async def test_too_long_or_backwards_is_422(self, client, make_key, params):
        headers = await make_key("securitization")
        response = await client.get("/v1/calendar/days", params=params, headers=headers)
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["query", "to"]
