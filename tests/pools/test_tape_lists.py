"""The tape's multi-valued cells (docs/data-tape.md): a loan's pledged assets are listed
separated by ``;``, in the same order in every such column. A software copyright number is
free text and a registration number is the registry's text, so either may itself hold a ``;``
(or a ``\\``): it is written escaped, ``\\;`` (and ``\\\\``), so that every list cell still
splits into exactly ``pledge_count`` elements, each read back as it was stored."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.pools.conftest import NO_LIMITS

_ELEMENT = re.compile(r"(?:[^;\\]|\\.)*")


def elements(cell: str) -> list[str]:
    """A list cell's elements: split on each unescaped ``;``, then unescaped."""
    parts = [m.group(0) for m in _ELEMENT.finditer(cell)][::2]
    return [re.sub(r"\\(.)", r"\1", part) for part in parts]


def test_elements_splits_on_unescaped_separators_only():
    assert elements(r"a\;b;c\\;d") == ["a;b", "c\\", "d"]


@pytest.mark.parametrize("lock", [False, True], ids=["open", "locked"])
async def test_a_separator_inside_an_element_does_not_split_it(book, lock):
    loan = await book.loan("1000000.00", assets=2)
    assets = await book.conn.fetch(
        """SELECT ia.id, p.id AS pledge_id FROM pledges p JOIN ip_assets ia ON ia.id = p.ip_asset_id
           JOIN loans l ON l.application_id = p.application_id WHERE l.id = $1
           ORDER BY ia.kind, ia.number""",
        loan["id"],
    )
    # Stored directly: the kinds of text the input rules let through (a software copyright
    # number is free text), or that predate them.
    await book.conn.execute(
        "UPDATE ip_assets SET number = $2 WHERE id = $1", assets[0]["id"], "T0;=cmd\\"
    )
    await book.conn.execute(
        "UPDATE pledges SET registration_no = $2 WHERE id = $1", assets[0]["pledge_id"], "Y1;Y2"
    )
    pool = await book.pool("10000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)
    if lock:
        await book.post(pool, "lock")
    response = await book.desk.client.get(f"/v1/pools/{pool['id']}/tape", headers=book.desk_key)
    assert response.status_code == 200, response.text
    [row] = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert row["pledge_count"] == "2"
    for column in ("ip_asset_kinds", "ip_asset_numbers", "registration_nos", "valuations"):
        assert len(elements(row[column])) == 2, (column, row[column])
    numbers = elements(row["ip_asset_numbers"])
    # Where the changed asset is listed depends on its new number against the other's (a
    # random one): found by its number, its registration number is at the same place.
    assert "T0;=cmd\\" in numbers
    assert elements(row["registration_nos"])[numbers.index("T0;=cmd\\")] == "Y1;Y2"
