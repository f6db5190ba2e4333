"""The portfolio report: loans outstanding on a date by risk class, their balances and the NPL
ratio, each loan classed as its own view shows it that date; bureaus see their district."""

from decimal import Decimal

from tests.factories import at
from tests.lifecycle import disbursed


async def _portfolio(desk, headers, as_of=None, expect=200):
    params = {"as_of": as_of} if as_of else {}
    response = await desk.client.get("/v1/reports/portfolio", params=params, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


def _by_class(report) -> dict[str, tuple[int, str]]:
    return {
        c["classification"]: (c["loan_count"], c["outstanding_principal"])
        for c in report["classes"]
    }


async def test_classes_balances_and_npl_ratio(desk, conn, clock, make_key):
    # Two loans of 100,000.00 (bullet, disbursed 10 March: interest due on the 10th of each
    # month, principal at the end), one of 300,000.00.
    late = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
    paying = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
    large = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="300000.00")
    # Every month's interest is paid on its due date on ``paying`` and ``large``; ``late``
    # pays nothing.
    for month in ("04", "05", "06", "07"):
        clock.set(at(f"2026-{month}-10T10:00:00+08:00"))
        for loan in (paying, large):
            interest = loan["schedule"][0]["interest"]
            response = await desk.client.post(
                f"/v1/loans/{loan['id']}/repayments",
                json={"paid_on": f"2026-{month}-10", "amount": interest},
                headers=desk.officer,
            )
            assert response.status_code == 201, response.text
    clock.set(at("2026-07-20T10:00:00+08:00"))
    # ``late`` has owed its 10 April interest for 101 days on 20 July: substandard.
    report = await _portfolio(desk, desk.officer)
    assert report["as_of"] == "2026-07-20"
    classes = _by_class(report)
    assert classes["normal"] == (2, "400000.00")
    assert classes["substandard"] == (1, "100000.00")
    assert classes["special_mention"] == classes["doubtful"] == classes["loss"] == (0, "0.00")
    assert report["total"] == {
        "classification": None,
        "loan_count": 3,
        "outstanding_principal": "500000.00",
    }
    # 100,000 / 500,000 = 0.2000.
    assert report["npl_ratio"] == "0.2000"
    # On 1 May ``late`` was 21 days past due, and ``paying``'s 10 April interest was paid.
    may = _by_class(await _portfolio(desk, desk.officer, "2026-05-01"))
    assert may["special_mention"] == (1, "100000.00")
    assert may["normal"] == (2, "400000.00")
    # Before the disbursement there was nothing.
    empty = await _portfolio(desk, desk.officer, "2026-03-09")
    assert empty["total"]["loan_count"] == 0 and empty["npl_ratio"] == "0.0000"
    # Each loan is counted in the class its own view shows.
    for loan in (late, paying, large):
        view = await desk.client.get(f"/v1/loans/{loan['id']}", headers=desk.officer)
        expected = "substandard" if loan is late else "normal"
        assert view.json()["classification"] == expected
    # A bureau sees its own district's loans (the desk's enterprise is in Longgang), none of
    # another district's; a relationship manager sees their own.
    longgang = await make_key("district_bureau", "440307")
    nanshan = await make_key("district_bureau", "440305")
    assert (await _portfolio(desk, longgang))["total"]["loan_count"] == 3
    assert (await _portfolio(desk, nanshan))["total"]["outstanding_principal"] == "0.00"
    assert (await _portfolio(desk, desk.other_rm))["total"]["loan_count"] == 0
    assert (await _portfolio(desk, desk.rm))["total"]["loan_count"] == 3
    assert Decimal(report["total"]["outstanding_principal"]) == sum(
        Decimal(c["outstanding_principal"]) for c in report["classes"]
    )
    await _portfolio(desk, desk.officer, "2026-07-21", expect=422)
