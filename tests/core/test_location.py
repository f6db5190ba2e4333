"""A 201 that creates a resource readable on its own names it in ``Location``: a GET there
answers the resource just created, and a keyed replay names it too."""

import uuid

import pytest

from tests.enterprises.conftest import enterprise_body
from tests.ip_assets.conftest import asset_body
from tests.subsidies.test_subsidies import PROGRAM


async def _created(desk, path, body, headers, *, key=None):
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    response = await desk.client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response


def _bodies(desk):
    return {
        "/v1/enterprises": (enterprise_body(), desk.bank),
        "/v1/ip-assets": (asset_body(desk.enterprise_id), desk.rm),
        "/v1/subsidy-programs": (PROGRAM, desk.admin),
        "/v1/webhook-endpoints": (
            {"url": "http://127.0.0.1:9/hook", "event_types": ["loan.disbursed"]},
            desk.admin,
        ),
    }


@pytest.mark.parametrize(
    "path", ["/v1/enterprises", "/v1/ip-assets", "/v1/subsidy-programs", "/v1/webhook-endpoints"]
)
async def test_location_names_what_was_created(desk, path):
    body, headers = _bodies(desk)[path]
    created = await _created(desk, path, body, headers)
    location = created.headers["location"]
    assert location == f"{path}/{created.json()['id']}"
    read = await desk.client.get(location, headers=headers)
    assert read.status_code == 200, read.text
    shown = {k: v for k, v in created.json().items() if k != "secret"}
    assert read.json() == shown


@pytest.mark.parametrize("path", ["/v1/enterprises", "/v1/subsidy-programs"])
async def test_a_keyed_replay_names_it_too(desk, path):
    body, headers = _bodies(desk)[path]
    key = str(uuid.uuid4())
    first = await _created(desk, path, body, headers, key=key)
    again = await _created(desk, path, body, headers, key=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
