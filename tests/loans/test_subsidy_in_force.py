"""A posting's decision to claim an interest subsidy reads the one definition of a programme
in force (SPEC 3.7): within its effective period and within its budget year."""

from datetime import date

from app.core.db import Db
from app.core.ids import uuid7
from app.loans import repository
from app.subsidies.in_force import Period, in_force
from tests.lifecycle import disbursed


async def _programme(conn, district: str, period: Period) -> None:
    await conn.execute(
        """INSERT INTO subsidy_programs (id, district_code, kind, name, share, cap_per_loan,
                 cap_per_enterprise_year, annual_budget, budget_year, effective_from,
                 effective_to, industries, committed, created_at, version)
           VALUES ($1, $2, 'interest_subsidy', 'Interest', 0.50, NULL, NULL, 1000000.00,
                   $3, $4, $5, NULL, 0, now(), 1)""",
        uuid7(),
        district,
        period.budget_year,
        period.effective_from,
        period.effective_to,
    )


async def test_a_posting_claims_only_while_the_programme_is_in_force(desk, conn, clock):
    loan = await disbursed(desk, conn, clock)
    # Open-ended, budget year 2026: in force from 1 April to 31 December 2026, not after.
    period = Period(effective_from=date(2026, 4, 1), effective_to=None, budget_year=2026)
    await _programme(conn, loan["district_code"], period)
    for paid_on, expected in (
        (date(2026, 3, 31), False),
        (date(2026, 4, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),  # effective still, but its budget year is over
        (date(2027, 6, 30), False),
    ):
        row = await repository.get_for_posting(Db(conn), loan["id"], paid_on)
        assert row["subsidised"] is expected is in_force(period, paid_on), paid_on
