"""Inputs Pydantic would otherwise read loosely: a date written as a number (a Unix time in
1970), and a body that is a bare number rather than an object."""

from __future__ import annotations

import pytest

from tests.conftest import problem_of

UNKNOWN = "0190aaaa-0000-7000-8000-000000000000"


@pytest.mark.parametrize("text", ["0", "86400", "-1", "2026-1-5", "20260105", "2026-01-05T00:00"])
async def test_a_date_is_only_yyyy_mm_dd(client, make_key, text):
    admin = await make_key("admin")
    officer = await make_key("credit_officer")
    for method, url, headers, body in (
        ("PUT", f"/v1/lpr/{text}", admin, {"one_year_bp": 300, "five_year_bp": 350}),
        ("GET", f"/v1/calendar/working-days?from={text}&add=3", officer, None),
        ("GET", f"/v1/loans/{UNKNOWN}?as_of={text}", officer, None),
        ("POST", f"/v1/applications/{UNKNOWN}/quotes", officer, {"quote_date": text}),
    ):
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert problem_of(response)["errors"]
    fixings = await client.get("/v1/lpr", headers=admin)
    assert all(not f["fixing_date"].startswith("1970") for f in fixings.json()["items"])


async def test_a_real_date_still_works(client, make_key):
    officer = await make_key("credit_officer")
    response = await client.get("/v1/calendar/working-days?from=2026-02-13&add=3", headers=officer)
    assert response.status_code == 200 and response.json()["date"] == "2026-02-25"


@pytest.mark.parametrize("body", ["0.0", "4.1e+194", "12", '"text"', "[]", "true", "null"])
async def test_a_body_is_a_json_object(client, make_key, body):
    officer = await make_key("credit_officer")
    response = await client.post(
        f"/v1/applications/{UNKNOWN}/quotes",
        content=body,
        headers={**officer, "Content-Type": "application/json"},
    )
    if body == "null":  # no body at all: the optional body's defaults, then the unknown id
        assert response.status_code == 404
        return
    assert response.status_code == 422, response.text
    problem_of(response)


class TestAnOperationWithoutABodyRefusesOne:
    """Bodies not shown take no fields: a member sent to an operation that reads no body is
    refused as an unknown member is anywhere else, not dropped while the change goes ahead."""

    @pytest.mark.parametrize(
        ("role", "url"),
        [
            ("credit_officer", f"/v1/applications/{UNKNOWN}/review"),
            ("securitization", f"/v1/pools/{UNKNOWN}/lock"),
            ("admin", f"/v1/webhook-endpoints/{UNKNOWN}/rotate-secret"),
        ],
    )
    async def test_a_member_is_refused_before_anything_is_looked_up(
        self, client, make_key, role, url
    ):
        response = await client.post(url, json={"reason": "x"}, headers=await make_key(role))
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"][0]["loc"] == ["body", "reason"]

    @pytest.mark.parametrize("body", ["[]", "1", '"x"', "null"])
    async def test_anything_but_an_object_is_refused(self, client, make_key, body):
        response = await client.post(
            f"/v1/applications/{UNKNOWN}/review",
            content=body,
            headers={**await make_key("credit_officer"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"][0]["loc"] == ["body"]

    @pytest.mark.parametrize("body", [None, {}])
    async def test_no_body_or_an_empty_object_is_no_body(self, client, make_key, body):
        response = await client.post(
            f"/v1/applications/{UNKNOWN}/review",
            json=body,
            headers=await make_key("credit_officer"),
        )
        assert response.status_code == 404, response.text
