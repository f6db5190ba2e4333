"""Path ids are ``UUID`` parameters that FastAPI parses; a caller still sees 404 for an id
that is not even well-formed, as for an unknown one, and 422 for a malformed filter."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from app.core.ids import uuid7
from app.core.roles import Role
from app.core.routing import access
from tests.conftest import problem_of, slug


@pytest.mark.parametrize("bad", ["nope", "1234", "0190d6a2-7b1c-7c3e-8000-00000000000g"])
async def test_a_malformed_path_id_is_a_404_problem(client, make_key, bad):
    officer = await make_key("credit_officer")
    for path in (f"/v1/applications/{bad}", f"/v1/enterprises/{bad}", f"/v1/pledges/{bad}"):
        response = await client.get(path, headers=officer)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert slug(response) == "not-found"
    response = await client.post(f"/v1/applications/{bad}/review", headers=officer)
    assert response.status_code == 404 and slug(response) == "not-found"


async def test_an_unknown_well_formed_id_is_the_same_404(client, make_key):
    officer = await make_key("credit_officer")
    response = await client.get(f"/v1/applications/{uuid7()}", headers=officer)
    assert response.status_code == 404
    assert problem_of(response)["detail"] == "no such application"


async def test_a_malformed_id_in_a_filter_is_422(client, make_key):
    officer = await make_key("credit_officer")
    response = await client.get("/v1/pledges?application_id=nope", headers=officer)
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["loc"] == ["query", "application_id"]


async def test_authorisation_comes_before_the_path_id(client):
    response = await client.get("/v1/applications/nope")
    assert response.status_code == 401


def test_path_ids_are_documented_as_uuids(app: FastAPI):
    schema = app.openapi()
    parameters = schema["paths"]["/v1/applications/{application_id}"]["get"]["parameters"]
    [application_id] = [p for p in parameters if p["name"] == "application_id"]
    assert application_id["schema"]["format"] == "uuid"


def test_a_secret_shown_once_needs_the_transactional_unit_of_work():
    # Only that path keeps an Idempotency-Key's answer without the secret (decision 0019); a
    # single-statement operation would keep it whole, so the marking is refused at import.
    access(Role.ADMIN, shown_once=("key",))
    with pytest.raises(ValueError, match="shown_once needs a transactional operation"):
        access(Role.ADMIN, transactional=False, shown_once=("key",))
