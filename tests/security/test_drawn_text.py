"""Text a caller stored is drawn as text. A projection's chart labels each tranche by its name;
the drawing library reads ``$…$`` in a label as TeX-like mathematics and a label that starts
with ``_`` as "leave out of the legend". A name such as ``$\\frac{1}{$`` (accepted: 40 printable
characters) would make every later read of the chart a 500, and a name like ``_B`` would vanish
from it. Each name is drawn exactly as written."""

from __future__ import annotations

import pytest

from tests.pools.conftest import NO_LIMITS, book  # noqa: F401  (the pools' fixture)

NAMES = [
    "$\\frac{1}{$",
    "$\\undefinedmacro$",
    "price $5 and $6",
    "_hidden",
    "<b>&amp;</b>",
]


@pytest.fixture
async def locked_pool(book):  # noqa: F811
    loan = await book.loan("6000000.00")
    pool = await book.pool("6000000.00", limits=NO_LIMITS)
    await book.add(pool, loan)
    return await book.post(pool, "lock")


@pytest.mark.parametrize("name", NAMES)
async def test_a_tranche_name_is_drawn_as_written(book, locked_pool, name):  # noqa: F811
    client, key = book.desk.client, book.desk_key
    structure = {
        "tranches": [
            {"name": name, "share": "0.8", "coupon_bp": 300},
            {"name": "Junior", "share": "0.2", "coupon_bp": 600},
        ]
    }
    scenario = {"cpr": "0.05", "cdr": "0.02", "recovery_rate": "0.4", "recovery_lag_months": 6}
    created = await client.post(
        f"/v1/pools/{locked_pool['id']}/projections",
        json={"scenario": scenario, "structure": structure},
        headers=key,
    )
    assert created.status_code == 201, created.text
    chart = await client.get(
        f"/v1/pools/{locked_pool['id']}/projections/{created.json()['id']}/chart.svg",
        headers=key,
    )
    assert chart.status_code == 200, chart.text
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f"{escaped} (tranche balance)" in chart.text
    assert "<b>" not in chart.text
    # A browser opening it runs nothing, whatever the text.
    assert chart.headers["content-security-policy"] == "default-src 'none'"
    assert chart.headers["x-content-type-options"] == "nosniff"
