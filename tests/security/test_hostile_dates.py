"""Dates beyond 1990-01-01 … 2100-12-31, for every operation of the OpenAPI document: in any
body member, query parameter or path segment they are refused (422, naming the place), never a
500 and never stored (PostgreSQL would keep year 1 as -infinity)."""

from __future__ import annotations

import pytest

from tests.security.openapi_walk import BY_LABEL, key_for, kinds, operations_with, refused_at

OUT_OF_RANGE = ["0001-01-01", "1989-12-31", "2101-01-01", "9999-12-31"]
MALFORMED = ["2026-02-30", "20260309", "2026-3-9", "86400", "2026-03-09T00:00:00"]


@pytest.mark.parametrize("label", operations_with("date"))
async def test_dates_out_of_range_are_refused_everywhere(client, make_key, label):
    operation = BY_LABEL[label]
    headers = await key_for(make_key, operation)
    failures = []
    for place in operation.places():
        if "date" not in kinds(place.schema):
            continue
        for value in [*OUT_OF_RANGE, *MALFORMED]:
            response = await client.request(**operation.request(headers, place, value))
            wrong = refused_at(response, place)
            if wrong:
                failures.append(f"{place.loc} = {value!r}: {wrong}")
    assert not failures, "\n".join(failures)


async def test_the_bounds_themselves_are_dates(client, make_key):
    """1990-01-01 and 2100-12-31 are valid dates: they get past validation."""
    headers = await make_key("admin")
    for day in ("1990-01-01", "2100-12-31"):
        response = await client.get(
            "/v1/calendar/days", params={"from": day, "to": day}, headers=headers
        )
        assert response.status_code == 200, response.text
        response = await client.get("/v1/lpr", params={"on": day}, headers=headers)
        assert response.status_code in (200, 409), response.text  # 409: no fixing in force


async def test_shifting_the_last_date_does_not_overflow(client, make_key):
    """Arithmetic from the last date a caller may send stays a clean answer."""
    headers = await make_key("admin")
    response = await client.get(
        "/v1/calendar/working-days", params={"from": "2100-12-31", "add": 1000}, headers=headers
    )
    assert response.status_code in (200, 409), response.text
    response = await client.get(
        "/v1/applications",
        params={"received_from": "2100-12-31", "received_to": "2100-12-31"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    response = await client.get(
        "/v1/reports/sla", params={"from": "2100-12-01", "to": "2100-12-31"}, headers=headers
    )
    assert response.status_code == 200, response.text
