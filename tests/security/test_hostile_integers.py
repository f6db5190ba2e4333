"""Integers that are not integers, for every operation of the OpenAPI document: a body member
typed integer refuses ``true``, ``"12"``, ``12.0`` and ``1e1`` (422, naming it); a query or
path integer refuses ``12.0``, ``1e1``, ``12_0`` and ``true``."""

from __future__ import annotations

import pytest

from tests.security.openapi_walk import BY_LABEL, RAW, key_for, kinds, operations_with, refused_at

IN_BODY = [RAW + "true", RAW + '"12"', RAW + "12.0", RAW + "1e1", RAW + "1.5", RAW + "false"]
IN_QUERY = ["12.0", "1e1", "12_0", "true", " 12", "0x10"]


@pytest.mark.parametrize("label", operations_with("integer"))
async def test_integers_must_be_integers(client, make_key, label):
    operation = BY_LABEL[label]
    headers = await key_for(make_key, operation)
    failures = []
    for place in operation.places():
        if "integer" not in kinds(place.schema):
            continue
        for value in IN_BODY if place.where == "body" else IN_QUERY:
            response = await client.request(**operation.request(headers, place, value))
            wrong = refused_at(response, place)
            if wrong:
                failures.append(f"{place.loc} = {value.removeprefix(RAW)!r}: {wrong}")
    assert not failures, "\n".join(failures)


async def test_a_true_integer_is_still_read(client, make_key):
    """The strictness refuses look-alikes only: 12 is 12."""
    admin = await make_key("admin")
    response = await client.get("/v1/api-keys", params={"limit": "12"}, headers=admin)
    assert response.status_code == 200
