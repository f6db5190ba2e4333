"""One definition of "in force" (SPEC 3.7): a programme is in force on a date within its
effective period and its budget year. The Python and SQL forms agree with each other and with
a naive reading of the sentence; a programme whose period leaves its budget year is refused;
and on any date a quote takes the district_risk_sharing discount exactly when a default that
day would claim on the programme, and the subsidies report lists it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.subsidies.in_force import (
    Period,
    in_force,
    in_force_during,
    in_force_during_sql,
    in_force_sql,
)
from tests import factories
from tests.conftest import problem_of
from tests.factories import at
from tests.lifecycle import disbursed
from tests.reports.helpers import report
from tests.subsidies.test_subsidies import PROGRAM


def naive_in_force(period: Period, on: date) -> bool:
    """The sentence of SPEC 3.7, word for word."""
    within_effective = period.effective_from <= on and (
        period.effective_to is None or on <= period.effective_to
    )
    return within_effective and on.year == period.budget_year


def naive_in_force_during(period: Period, start: date, end: date) -> bool:
    """Day by day through the period."""
    return any(
        naive_in_force(period, start + timedelta(days=n)) for n in range((end - start).days + 1)
    )


class TestExamples:
    # Budget 2026, effective 1 Mar 2026 to 30 Jun 2026: in force 1 Mar … 30 Jun.
    SPRING = Period(date(2026, 3, 1), date(2026, 6, 30), 2026)
    # Budget 2026, open-ended from 1 Mar 2026: in force 1 Mar … 31 Dec 2026 only.
    OPEN = Period(date(2026, 3, 1), None, 2026)
    # A stored row reaching outside its year (budget 2026, 1 Jul 2025 … 30 Jun 2026): in
    # force 1 Jan … 30 Jun 2026 only.
    STRADDLING = Period(date(2025, 7, 1), date(2026, 6, 30), 2026)

    @pytest.mark.parametrize(
        "period,on,expected",
        [
            (SPRING, date(2026, 2, 28), False),
            (SPRING, date(2026, 3, 1), True),
            (SPRING, date(2026, 6, 30), True),
            (SPRING, date(2026, 7, 1), False),
            (OPEN, date(2026, 12, 31), True),
            (OPEN, date(2027, 1, 1), False),
            (STRADDLING, date(2025, 12, 31), False),
            (STRADDLING, date(2026, 1, 1), True),
        ],
    )
    def test_on_a_date(self, period, on, expected):
        assert in_force(period, on) is expected
        assert naive_in_force(period, on) is expected

    def test_during_a_period(self):
        # The open programme meets Dec 2026 … Jan 2027 (on its last days) but not 2027 alone.
        assert in_force_during(self.OPEN, date(2026, 12, 1), date(2027, 1, 31))
        assert not in_force_during(self.OPEN, date(2027, 1, 1), date(2027, 12, 31))
        # The straddling one is not in force in the second half of 2025.
        assert not in_force_during(self.STRADDLING, date(2025, 7, 1), date(2025, 12, 31))


dates = st.dates(min_value=date(2023, 6, 1), max_value=date(2029, 6, 30))


@st.composite
def periods(draw) -> Period:
    """Any programme row, including ones the database now refuses: the definition must hold
    whatever is stored."""
    effective_from = draw(dates)
    effective_to = draw(
        st.none() | st.dates(min_value=effective_from, max_value=date(2029, 12, 31))
    )
    budget_year = draw(st.integers(min_value=2023, max_value=2029))
    return Period(effective_from, effective_to, budget_year)


@st.composite
def cases(draw) -> tuple[Period, date, date, date]:
    period = draw(periods())
    on = draw(dates)
    start = draw(dates)
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=400)))
    return period, on, start, end


_SQL = f"""
SELECT {in_force_sql("p", "p.on_date")} AS on_date,
       {in_force_during_sql("p", "p.start_date", "p.end_date")} AS during
FROM unnest($1::date[], $2::date[], $3::int[], $4::date[], $5::date[], $6::date[])
     WITH ORDINALITY AS p(effective_from, effective_to, budget_year, on_date, start_date,
                          end_date, n)
ORDER BY n"""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(cases(), min_size=1, max_size=30))
async def test_python_sql_and_the_sentence_agree(conn, batch):
    rows = await conn.fetch(
        _SQL,
        [p.effective_from for p, *_ in batch],
        [p.effective_to for p, *_ in batch],
        [p.budget_year for p, *_ in batch],
        [on for _, on, _, _ in batch],
        [start for *_, start, _ in batch],
        [end for *_, end in batch],
    )
    for (period, on, start, end), row in zip(batch, rows, strict=True):
        expected_on = naive_in_force(period, on)
        expected_during = naive_in_force_during(period, start, end)
        assert in_force(period, on) is expected_on, (period, on)
        assert row["on_date"] is expected_on, (period, on)
        assert in_force_during(period, start, end) is expected_during, (period, start, end)
        assert row["during"] is expected_during, (period, start, end)


class TestCreation:
    @pytest.mark.parametrize(
        "override,field",
        [
            ({"effective_from": "2025-12-31"}, "effective_from"),
            ({"effective_from": "2025-07-01", "effective_to": "2026-06-30"}, "effective_from"),
            ({"effective_to": "2027-01-01"}, "effective_to"),
            # No date of a year after 2100 may be sent, so neither may such a budget year.
            (
                {"budget_year": 2101, "effective_from": "2100-12-31", "effective_to": None},
                "budget_year",
            ),
            ({"effective_from": "2027-01-01", "effective_to": None}, "effective_from"),
        ],
    )
    async def test_a_period_outside_the_budget_year_is_422_on_the_field(
        self, desk, conn, override, field
    ):
        before = await conn.fetchval("SELECT count(*) FROM subsidy_programs")
        response = await desk.client.post(
            "/v1/subsidy-programs", json={**PROGRAM, **override}, headers=desk.admin
        )
        assert response.status_code == 422, response.text
        assert [e["loc"] for e in problem_of(response)["errors"]] == [["body", field]]
        assert await conn.fetchval("SELECT count(*) FROM subsidy_programs") == before

    async def test_the_database_refuses_one_too(self, conn):
        with pytest.raises(Exception, match="ck_subsidy_programs_in_budget_year"):
            async with conn.transaction():
                await conn.execute(
                    """INSERT INTO subsidy_programs (id, district_code, kind, name, share,
                           annual_budget, budget_year, effective_from, committed, created_at,
                           version)
                       VALUES (uuid7(), '440307', 'risk_compensation', 'x', 0.5, 100, 2026,
                               DATE '2025-12-01', 0, now(), 1)"""
                )

    @pytest.mark.parametrize(
        "override",
        [
            {"effective_from": "2026-01-01", "effective_to": "2026-12-31"},
            {"effective_from": "2026-12-31", "effective_to": None},
        ],
    )
    async def test_a_period_within_the_year_is_accepted(self, desk, override):
        response = await desk.client.post(
            "/v1/subsidy-programs", json={**PROGRAM, **override}, headers=desk.admin
        )
        assert response.status_code == 201, response.text


# An open-ended programme of budget 2026 from 1 March: in force 1 Mar … 31 Dec 2026. The
# dates straddle both ends of that window and go past the budget year's end.
DATES = ["2026-02-28", "2026-03-01", "2026-07-15", "2026-12-31", "2027-01-01", "2027-02-15"]
IN_FORCE = {"2026-03-01", "2026-07-15", "2026-12-31"}


async def test_quote_claim_and_report_agree_on_every_date(desk, conn, clock):
    programme = await desk.client.post(
        "/v1/subsidy-programs",
        json={
            **PROGRAM,
            "kind": "risk_compensation",
            "name": "Longgang risk compensation 2026",
            "effective_from": "2026-03-01",
            "effective_to": None,
        },
        headers=desk.admin,
    )
    assert programme.status_code == 201, programme.text
    program_id = programme.json()["id"]
    # A loan never repaid since its disbursement on 10 Oct 2025: more than 90 days past due
    # on every date above, so it may be declared defaulted on any of them.
    await factories.lpr(conn, date(2025, 9, 22), one_year_bp=300)
    loan = await disbursed(
        desk,
        conn,
        clock,
        when="2025-10-06T10:00:00+08:00",
        disbursed_on="2025-10-10",
        method="interest_only_bullet",
    )
    # Another application of the same enterprise, under review, to quote.
    application = await desk.create()
    await desk.submit(application)
    await desk.act(application, "review")
    clock.set(at("2027-03-01T10:00:00+08:00"))

    for on in DATES:
        quoted = await desk.client.post(
            f"/v1/applications/{application['id']}/quotes",
            json={"quote_date": on},
            headers=desk.officer,
        )
        assert quoted.status_code == 201, quoted.text
        [sharing] = [c for c in quoted.json()["components"] if c["code"] == "district_risk_sharing"]
        discount = sharing["bp"] == 5
        assert sharing["facts"]["risk_compensation_program_id"] == (
            program_id if discount else None
        )

        savepoint = conn.transaction()
        await savepoint.start()
        try:
            defaulted = await desk.client.post(
                f"/v1/loans/{loan['id']}/default",
                json={"reason": "silent", "as_of": on},
                headers=desk.officer,
            )
            assert defaulted.status_code == 200, defaulted.text
            claims = await conn.fetchval(
                "SELECT count(*) FROM subsidy_claims WHERE program_id = $1 AND loan_id = $2",
                program_id,
                loan["id"],
            )
        finally:
            await savepoint.rollback()

        listed = await report(desk.client, "subsidies", desk.admin, on, on)
        reported = program_id in [p["program_id"] for p in listed["programs"]]

        assert (discount, claims == 1, reported) == (on in IN_FORCE,) * 3, on
