"""Odd ``If-Match`` values, on every operation that honours the header: a version beyond any
the database can hold, a number of thousands of digits, digits that are not ASCII (``²`` is one
byte of Latin-1, as a header may carry it; ``١`` and ``１`` are digits to Python). Each is a
tag that names no current version: 412, never a 500. A list of tags matches when any of them
names the current version, on every operation alike."""

from __future__ import annotations

import pytest

from tests.conftest import slug
from tests.factories import at
from tests.security.openapi_walk import OPERATIONS, key_for

WITH_IF_MATCH = [
    op.label
    for op in OPERATIONS
    if any(p["in"] == "header" and p["name"] == "If-Match" for p in op.parameters)
]
BY_LABEL = {op.label: op for op in OPERATIONS}

ODD_TAGS: list[bytes] = [
    b'"2147483648"',  # one past PostgreSQL's integer
    b'"99999999999999999999999999999"',
    b'"' + b"9" * 5000 + b'"',  # past Python's limit on int() of a string
    b'"\xb2"',  # Latin-1 superscript two: isdigit(), yet no int()
    '"١"'.encode(),  # Arabic-Indic one
    '"１"'.encode(),  # full-width one
    b'W/"2147483648"',
    b'"1_0"',
    b'"-1"',
    b'""',
]


def test_the_walk_finds_the_operations_that_take_if_match():
    assert "POST /v1/applications/{application_id}/submit" in WITH_IF_MATCH


@pytest.mark.parametrize("label", WITH_IF_MATCH)
async def test_an_odd_tag_is_never_a_500(client, make_key, label):
    operation = BY_LABEL[label]
    request = operation.request(await key_for(make_key, operation))
    failures = []
    for tag in ODD_TAGS:
        headers = [*request["headers"].items(), ("If-Match", tag)]
        response = await client.request(**{**request, "headers": headers})
        if response.status_code >= 500:
            failures.append(f"{tag[:40]!r}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


class TestSubmission:
    """Submission checks the version inside its one statement: the tags reach the database."""

    @pytest.mark.parametrize("tag", ODD_TAGS, ids=lambda t: repr(t[:20]))
    async def test_an_odd_tag_is_412_and_changes_nothing(self, desk, clock, tag):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        application = await desk.create()
        response = await desk.client.post(
            f"/v1/applications/{application['id']}/submit",
            headers=[*desk.rm.items(), ("If-Match", tag)],
        )
        assert response.status_code == 412, response.text
        assert slug(response) == "precondition-failed"
        assert (await desk.get(application))["state"] == "draft"

    async def test_a_list_matches_when_any_tag_is_current(self, desk, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        application = await desk.create()
        response = await desk.client.post(
            f"/v1/applications/{application['id']}/submit",
            headers={**desk.rm, "If-Match": '"7", W/"1"'},
        )
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 2

    async def test_a_list_without_the_current_version_is_412(self, desk, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        application = await desk.create()
        response = await desk.client.post(
            f"/v1/applications/{application['id']}/submit",
            headers={**desk.rm, "If-Match": '"7", "2147483648", "3"'},
        )
        assert response.status_code == 412, response.text
        assert response.json()["current_version"] == 1
