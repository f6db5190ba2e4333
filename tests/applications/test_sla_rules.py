"""The clock's pure rules: tiers with inclusive boundaries, deadline instants, states."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.applications import sla
from app.applications.sla import SlaState
from app.core.types import SHANGHAI


@pytest.mark.parametrize(
    "amount,days",
    [
        ("0.01", 3),
        ("9999999.99", 3),
        ("10000000.00", 3),
        ("10000000.01", 5),
        ("29999999.99", 5),
        ("30000000.00", 5),
        ("30000000.01", 10),
        ("500000000.00", 10),
    ],
)
def test_tier_boundaries_are_inclusive(amount, days):
    assert sla.tier_working_days(Decimal(amount)) == days


def test_deadline_is_end_of_day_in_shanghai():
    instant = sla.deadline_instant(date(2026, 2, 25))
    assert instant.isoformat() == "2026-02-25T23:59:59.999999+08:00"


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


class TestRunningClock:
    deadline = date(2026, 2, 25)

    def state(self, now: str) -> SlaState:
        return sla.running_state(self.deadline, sla.deadline_instant(self.deadline), shanghai(now))

    def test_before_the_deadline_date_it_runs(self):
        assert self.state("2026-02-24T23:59:59") is SlaState.RUNNING

    def test_on_the_deadline_date_it_is_at_risk(self):
        assert self.state("2026-02-25T00:00:00") is SlaState.AT_RISK
        assert self.state("2026-02-25T23:59:59") is SlaState.AT_RISK

    def test_after_the_deadline_it_is_breached(self):
        assert self.state("2026-02-26T00:00:00") is SlaState.BREACHED

    def test_no_deadline_is_pending_calendar(self):
        assert (
            sla.running_state(None, None, shanghai("2026-12-30T10:00:00"))
            is SlaState.PENDING_CALENDAR
        )


class TestApplicationState:
    deadline_at = sla.deadline_instant(date(2026, 2, 25))

    def of(self, state, decided_at=None, now="2026-02-20T10:00:00"):
        return sla.application_sla_state(
            state=state,
            deadline_date=date(2026, 2, 25),
            deadline_at=self.deadline_at,
            decided_at=shanghai(decided_at) if decided_at else None,
            now=shanghai(now),
        )

    def test_draft_has_no_clock(self):
        assert self.of("draft") is None

    def test_decision_on_the_deadline_day_is_met(self):
        assert self.of("approved", "2026-02-25T23:59:59") is SlaState.MET

    def test_decision_after_the_deadline_is_missed(self):
        assert self.of("declined", "2026-02-26T00:00:01") is SlaState.MISSED

    def test_awaiting_information_is_paused(self):
        assert self.of("awaiting_information", now="2026-03-30T10:00:00") is SlaState.PAUSED

    def test_withdrawn_before_decision(self):
        assert self.of("withdrawn") is SlaState.WITHDRAWN

    def test_withdrawn_after_approval_keeps_its_verdict(self):
        assert self.of("withdrawn", "2026-02-24T10:00:00") is SlaState.MET


class TestTierInSqlAgreesWithPython:
    """The submission statement takes the tier from ``sla.tier_sql``; it must give
    ``sla.tier_working_days`` for every amount."""

    async def test_at_the_boundaries_and_across_the_range(self, conn):
        import random
        from decimal import Decimal

        rng = random.Random(21)
        boundaries = [
            Decimal("0.01"),
            Decimal("9999999.99"),
            Decimal("10000000.00"),
            Decimal("10000000.01"),
            Decimal("29999999.99"),
            Decimal("30000000.00"),
            Decimal("30000000.01"),
            Decimal("999999999999.99"),
        ]
        amounts = boundaries + [Decimal(rng.randrange(1, 10**11)) / 100 for _ in range(2000)]
        rows = await conn.fetch(
            f"SELECT a, {sla.tier_sql('a')} AS tier FROM unnest($1::numeric[]) AS a", amounts
        )
        assert len(rows) == len(amounts)
        for row in rows:
            assert row["tier"] == sla.tier_working_days(row["a"]), row["a"]
        # Hand-worked: 10,000,000.00 is the last amount of three days, 30,000,000.00 of five.
        assert [sla.tier_working_days(a) for a in boundaries] == [3, 3, 3, 5, 5, 5, 10, 10]


def test_the_clock_table_admits_exactly_the_tiers():
    """The check constraint on ``approval_clocks`` is the database's copy of the tiers."""
    from app.models.application import ApprovalClock

    checks = {str(c.sqltext) for c in ApprovalClock.__table__.constraints if hasattr(c, "sqltext")}
    assert f"tier_working_days IN ({', '.join(map(str, sla.TIER_DAYS))})" in checks
