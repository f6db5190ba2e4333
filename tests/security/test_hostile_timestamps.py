"""Timestamps a caller sends are RFC 3339 with their offset, and nothing else: Pydantic would
also read a number, or a string of digits, as Unix seconds (and one past 2e10 as milliseconds)
in UTC, a time whose offset the caller never wrote. Each such value is refused (422, naming
the place) wherever the document takes a timestamp, and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import problem_of
from tests.factories import at
from tests.security.openapi_walk import OPERATIONS, key_for, refused_at, resolve

RECENT = 1773025200  # 2026-03-09T11:00:00+08:00, an hour after the clock the tests set
NOT_RFC_3339 = [
    RECENT,
    float(RECENT),
    str(RECENT),
    f"{RECENT}.5",
    RECENT * 1000,
    "2026-03-09T10:00+08:00",  # no seconds
    "2026-03-09T10:00:00",  # no offset
    "2026-03-09",
    "20260309T100000+0800",
    "2026-03-09T10:00:00+0800",
    "2026-W11-1T10:00:00+08:00",
    "２０２６-03-09T10:00:00+08:00",
    True,
]
RFC_3339 = [
    "2026-03-09T09:00:00+08:00",
    "2026-03-09T01:00:00Z",
    "2026-03-09t01:00:00z",
    "2026-03-09 09:00:00.250+08:00",
]


def _timestamp_places():
    for operation in OPERATIONS:
        for place in operation.places():
            schema = resolve(place.schema)
            variants = schema.get("anyOf") or [schema]
            if any(v.get("format") == "date-time" for v in variants):
                yield operation, place


PLACES = list(_timestamp_places())


def test_the_walk_finds_the_timestamps():
    assert ("POST /v1/applications/{application_id}/submit", ("body", "received_at")) in [
        (op.label, place.loc) for op, place in PLACES
    ]


@pytest.mark.parametrize("where", PLACES, ids=lambda p: f"{p[0].label} {p[1].loc}")
async def test_a_number_or_a_bare_time_is_refused_everywhere(client, make_key, clock, where):
    clock.set(at("2026-03-09T10:00:00+08:00"))
    operation, place = where
    headers = await key_for(make_key, operation)
    failures = []
    for value in NOT_RFC_3339:
        response = await client.request(**operation.request(headers, place, value))
        wrong = refused_at(response, place)
        if wrong:
            failures.append(f"{place.loc} = {value!r}: {wrong}")
    assert not failures, "\n".join(failures)


class TestSubmission:
    @pytest.mark.parametrize("value", NOT_RFC_3339, ids=repr)
    async def test_a_unix_time_submits_nothing(self, desk, clock, value):
        clock.set(at("2026-03-09T12:00:00+08:00"))
        application = await desk.create()
        response = await desk.client.post(
            f"/v1/applications/{application['id']}/submit",
            json={"received_at": value},
            headers=desk.rm,
        )
        assert response.status_code == 422, response.text
        assert ["body", "received_at"] in [e["loc"] for e in problem_of(response)["errors"]]
        assert (await desk.get(application))["state"] == "draft"

    @pytest.mark.parametrize("value", RFC_3339)
    async def test_rfc_3339_is_read(self, desk, clock, value):
        clock.set(at("2026-03-09T12:00:00+08:00"))
        application = await desk.create()
        submitted = await desk.submit(application, received_at=value)
        assert submitted["sla"]["received_at"].startswith("2026-03-09T09:00:00")
