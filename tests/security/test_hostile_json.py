"""Loose JSON, for every operation of the OpenAPI document that takes a body: a duplicate member
name is refused (422) rather than the last one winning; a body in UTF-16 or UTF-32, or with a
byte order mark, or declared in another charset, is 415."""

from __future__ import annotations

import json

import pytest

from tests.security.openapi_walk import BY_LABEL, OPERATIONS, Place, key_for, refused_at

WITH_BODY = [op.label for op in OPERATIONS if op.body_schema is not None]
BODY = Place(("body",), {})


def _duplicated(content: bytes) -> bytes:
    """The body with its first member written twice (or a member twice in an empty one)."""
    members = json.loads(content)
    if not isinstance(members, dict) or not members:
        return b'{"note": 1, "note": 2}'
    name, value = next(iter(members.items()))
    first = json.dumps({name: value}, ensure_ascii=False)[1:-1]
    return ("{" + first + ", " + json.dumps(members, ensure_ascii=False)[1:]).encode()


@pytest.mark.parametrize("label", WITH_BODY)
async def test_a_duplicate_member_is_422(client, make_key, label):
    operation = BY_LABEL[label]
    request = operation.request(await key_for(make_key, operation))
    request["content"] = _duplicated(request["content"])
    response = await client.request(**request)
    assert refused_at(response, BODY) is None, response.text
    assert "more than once" in response.text


@pytest.mark.parametrize("label", WITH_BODY)
async def test_a_body_that_is_not_utf8_is_415(client, make_key, label):
    operation = BY_LABEL[label]
    request = operation.request(await key_for(make_key, operation))
    text = request["content"].decode()
    failures = []
    for name, content in {
        "utf-16": text.encode("utf-16"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "utf-32": text.encode("utf-32"),
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "latin-1": text.replace("}", ', "x": "caf\u00e9"}', 1).encode("latin-1"),
    }.items():
        response = await client.request(**{**request, "content": content})
        wrong = refused_at(response, BODY, status=415)
        if wrong:
            failures.append(f"{name}: {wrong}")
    declared = await client.request(
        **{
            **request,
            "headers": {**request["headers"], "Content-Type": "application/json; charset=utf-16"},
        }
    )
    wrong = refused_at(declared, BODY, status=415)
    if wrong:
        failures.append(f"charset=utf-16: {wrong}")
    assert not failures, "\n".join(failures)


async def test_utf8_with_a_charset_parameter_is_read(client, make_key):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/api-keys",
        content=json.dumps({"role": "securitization", "name": "密钥"}).encode(),
        headers={**admin, "Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "密钥"
