"""Control characters in text, for every operation of the OpenAPI document: NUL, BEL, ESC, an
invisible format character (a bidi override, a zero-width space) or a lone surrogate in any body
member or query parameter is refused (422, naming the place); in a path it is a clean 4xx.
Never a 500, never stored. Free text keeps its line breaks."""

from __future__ import annotations

import pytest

from tests.conftest import problem_of
from tests.security.openapi_walk import (
    BY_LABEL,
    RAW,
    Place,
    key_for,
    kinds,
    operations_with,
    refused_at,
)

CONTROL = ["a\x00b", "\x00", "bell\x07", "esc\x1b[2J", "del\x7f", "c1\x85x"]
# Invisible format characters (bidi overrides and isolates, zero-width characters, a byte order
# mark, tags) and the Unicode line and paragraph separators: text that reads one way and is
# stored another (``Acme\u202egnp.exe`` shows as ``Acmeexe.png``).
FORMAT = [
    "bidi\u202eoverride",
    "zero\u200bwidth",
    "\ufeffbom",
    "isolate\u2066x\u2069",
    "soft\u00adhyphen",
    "tag\U000e0041",
    "line\u2028separator",
    "paragraph\u2029separator",
]
SURROGATE = RAW + '"half \\ud800 a pair"'


@pytest.mark.parametrize("label", operations_with("string"))
async def test_control_characters_are_refused_in_every_text(client, make_key, label):
    operation = BY_LABEL[label]
    headers = await key_for(make_key, operation)
    failures = []
    for place in operation.places():
        if "string" not in kinds(place.schema):
            continue
        values = [*CONTROL, *FORMAT]
        if place.where == "body":
            values.append(SURROGATE)
        for value in values:
            response = await client.request(**operation.request(headers, place, value))
            if value == SURROGATE:
                # Refused as the body is read, before any member: no UTF-8 text holds it.
                wrong = refused_at(response, Place(("body",), {}))
            elif place.where == "path":
                wrong = None if 400 <= response.status_code < 500 else response.text[:200]
                if wrong is None:
                    problem_of(response)
            else:
                wrong = refused_at(response, place)
            if wrong:
                failures.append(f"{place.loc} = {value!r}: {wrong}")
    assert not failures, "\n".join(failures)


def _documented_max(place) -> int | None:
    schema = place.schema
    variants = schema.get("anyOf") or [schema]
    limits = [v["maxLength"] for v in variants if "maxLength" in v]
    return limits[0] if limits else None


@pytest.mark.parametrize("label", operations_with("string"))
async def test_every_text_has_a_documented_maximum_that_holds(client, make_key, label):
    """Each text place documents its maxLength (plain text: at most 200, free text 2000,
    unless the field says), and one character more is refused there."""
    operation = BY_LABEL[label]
    headers = await key_for(make_key, operation)
    failures = []
    for place in operation.places():
        if place.where == "path" or kinds(place.schema) & {"date", "money", "integer"}:
            continue
        if "string" not in kinds(place.schema) or {"enum", "format"} & place.schema.keys():
            continue
        limit = _documented_max(place)
        if limit is None:
            if "pattern" not in place.schema:
                failures.append(f"{place.loc}: no maxLength documented")
            continue
        response = await client.request(**operation.request(headers, place, "x" * (limit + 1)))
        wrong = refused_at(response, place)
        if wrong:
            failures.append(f"{place.loc} at {limit + 1} characters: {wrong}")
    assert not failures, "\n".join(failures)


class TestFreeText:
    """Reasons, purposes and notes may hold line breaks, and nothing else of the kind."""

    async def test_line_breaks_are_kept(self, desk):
        purpose = "Working capital\nfor the 2026 line,\r\nsecond paragraph"
        application = await desk.create(purpose=purpose)
        assert (await desk.get(application))["purpose"] == purpose
        withdrawn = await desk.act(application, "withdraw", headers=desk.rm, reason="a\nb")
        assert withdrawn["withdraw_reason"] == "a\nb"

    async def test_a_tab_or_nul_in_free_text_is_refused(self, desk):
        application = await desk.create()
        for reason in ("a\tb", "a\x00b", "a\x0bb"):
            response = await desk.client.post(
                f"/v1/applications/{application}/withdraw",
                json={"reason": reason},
                headers=desk.rm,
            )
            assert response.status_code == 422, response.text
            assert ["body", "reason"] in [e["loc"] for e in problem_of(response)["errors"]]

    async def test_a_line_break_in_a_name_is_refused(self, client, make_key):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys", json={"role": "securitization", "name": "one\ntwo"}, headers=admin
        )
        assert response.status_code == 422
        assert ["body", "name"] in [e["loc"] for e in problem_of(response)["errors"]]
