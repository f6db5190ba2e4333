"""Who may read which report, and what a bad period answers."""

import pytest

from tests.conftest import problem_of
from tests.reports.helpers import report

REPORTS = ("sla", "campaign", "subsidies")


class TestRoles:
    @pytest.mark.parametrize("name", ["sla", "campaign"])
    async def test_a_bureau_may_not_read_the_bank_reports(self, desk, make_key, name):
        bureau = await make_key("district_bureau", "440307")
        response = await desk.client.get(
            f"/v1/reports/{name}", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=bureau
        )
        assert response.status_code == 403
        assert problem_of(response)["type"].endswith("/problems/forbidden")

    @pytest.mark.parametrize("name", REPORTS)
    @pytest.mark.parametrize(
        "role", ["bank_system", "relationship_manager", "credit_officer", "securitization", "admin"]
    )
    async def test_bank_roles_read_every_report(self, desk, make_key, name, role):
        headers = await make_key(role, "RM000001" if role == "relationship_manager" else None)
        await report(desk.client, name, headers, "2026-03-01", "2026-03-31")

    @pytest.mark.parametrize("name", REPORTS)
    async def test_no_key_is_401(self, desk, name):
        response = await desk.client.get(
            f"/v1/reports/{name}", params={"from": "2026-03-01", "to": "2026-03-31"}
        )
        assert response.status_code == 401


class TestPeriod:
    @pytest.mark.parametrize("name", REPORTS)
    @pytest.mark.parametrize(
        "params,field",
        [
            ({"from": "2026-03-31", "to": "2026-03-01"}, "to"),  # to before from
            ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),  # 367 days
            ({"from": "2026-02-30", "to": "2026-03-31"}, "from"),
            ({"from": "yesterday", "to": "2026-03-31"}, "from"),
            ({"from": "2026-03-01"}, "to"),
            ({"to": "2026-03-01"}, "from"),
            # Dates a report cannot turn into instants: refused, not a 500.
            ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
            ({"from": "9999-12-31", "to": "9999-12-31"}, "to"),
            ({"from": "9998-12-31", "to": "9999-01-01"}, "to"),
            ({"from": "0001-01-01", "to": "0001-01-01"}, "from"),
            ({"from": "0001-01-01", "to": "0001-01-31"}, "to"),
            ({"from": "1899-12-31", "to": "1900-01-01"}, "from"),
            ({"from": "1989-12-31", "to": "1990-01-01"}, "from"),
            ({"from": "2100-12-31", "to": "2101-01-01"}, "to"),
        ],
    )
    async def test_bad_periods_are_422(self, desk, name, params, field):
        response = await desk.client.get(f"/v1/reports/{name}", params=params, headers=desk.admin)
        assert response.status_code == 422, response.text
        problem = problem_of(response)
        assert problem["type"].endswith("/problems/validation-error")
        assert ["query", field] in [e["loc"] for e in problem["errors"]]

    @pytest.mark.parametrize("name", REPORTS)
    async def test_one_day_and_a_whole_leap_year_are_periods(self, desk, name):
        await report(desk.client, name, desk.admin, "2026-03-01", "2026-03-01")
        await report(desk.client, name, desk.admin, "2028-01-01", "2028-12-31")

    @pytest.mark.parametrize("name", REPORTS)
    async def test_the_first_and_last_dates_allowed_are_periods(self, desk, name):
        # Every date a caller sends lies within 1990-01-01 … 2100-12-31.
        await report(desk.client, name, desk.admin, "1990-01-01", "1990-01-01")
        await report(desk.client, name, desk.admin, "2100-12-31", "2100-12-31")
