"""Digits that are not ASCII, for every operation of the OpenAPI document: money written
``"１００"``, dates ``２０２６-０３-０９``, integers and six-digit codes in full-width or other
scripts' digits are refused (422, naming the place), wherever they are sent."""

from __future__ import annotations

import pytest

from tests.security.openapi_walk import BY_LABEL, RAW, key_for, kinds, operations_with, refused_at

MONEY = ["１００", "１００.００", "\u0661\u0660\u0660", "1\u20080"]  # full-width, Arabic-Indic
DATE = ["２０２６-０３-０９", "\u0662\u0660\u0662\u0666-03-09"]
INTEGER_IN_QUERY = ["１２", "\u0661\u0662"]
INTEGER_IN_BODY = [RAW + '"１２"']
CODE = ["４４０３０７", "\u0664\u0664\u0660\u0663\u0660\u0667"]


def _values(place) -> list[str]:
    found = kinds(place.schema)
    if "money" in found:
        return MONEY
    if "date" in found:
        return DATE
    if "integer" in found:
        return INTEGER_IN_BODY if place.where == "body" else INTEGER_IN_QUERY
    if "0-9]{6}" in str(place.schema.get("pattern", "")):
        return CODE
    return []


PLACES_WITH_DIGITS = sorted(
    {*operations_with("money"), *operations_with("date"), *operations_with("integer")}
    | {
        op.label
        for op in BY_LABEL.values()
        if any("0-9]{6}" in str(p.schema.get("pattern", "")) for p in op.places())
    }
)


@pytest.mark.parametrize("label", PLACES_WITH_DIGITS)
async def test_digits_are_ascii(client, make_key, label):
    operation = BY_LABEL[label]
    headers = await key_for(make_key, operation)
    failures = []
    for place in operation.places():
        for value in _values(place):
            response = await client.request(**operation.request(headers, place, value))
            wrong = refused_at(response, place)
            if wrong:
                failures.append(f"{place.loc} = {value.removeprefix(RAW)!r}: {wrong}")
    assert not failures, "\n".join(failures)
