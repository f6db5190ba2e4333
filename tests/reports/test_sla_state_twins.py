"""The SLA state of an application is written three times: in Python
(``sla.application_sla_state``, for reads), as a filter (``sla.sla_filter``, for lists) and as
a CASE (the SLA report's grouping). Over every kind of application and every moment around
its deadline, the three agree."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from app.applications import sla
from app.applications.sla import FILTERABLE_SLA_STATES, SHANGHAI
from app.reports import repository as reports

DEADLINE = date(2026, 10, 9)  # the Friday after National Day
AT = sla.deadline_instant(DEADLINE)

# (state, decided) pairs an application's current clock can be in, drafts aside.
KINDS = [
    ("submitted", False),
    ("under_review", False),
    ("awaiting_information", False),
    ("withdrawn", False),
    ("approved", True),
    ("declined", True),
    ("disbursed", True),
    ("withdrawn", True),  # approved, then withdrawn: keeps its verdict
]
MOMENTS = [
    AT - timedelta(days=2),
    datetime(2026, 10, 9, 0, 0, tzinfo=SHANGHAI),  # the deadline's first instant
    datetime(2026, 10, 9, 12, 0, tzinfo=SHANGHAI),
    AT,  # its very last
    AT + timedelta(microseconds=1),
    datetime(2026, 10, 10, 0, 0, 1, tzinfo=SHANGHAI),
    AT + timedelta(days=3),
]


async def test_the_report_the_filters_and_the_reads_agree(conn):
    filters = {s: sla.sla_filter(s, "$3", "$4") for s in FILTERABLE_SLA_STATES}
    sql = (
        f"SELECT {reports._SLA_STATE} AS code, "
        + ", ".join(f"({clause}) AS {s.value}" for s, clause in filters.items())
        + """ FROM (SELECT $1::text AS state, $2::date AS deadline_date,
                    $5::timestamptz AS deadline_at, $6::timestamptz AS decided_at) a"""
    )
    seen = set()
    cases = itertools.product(KINDS, (True, False), MOMENTS, MOMENTS)
    for (state, decided), published, now, decided_at in cases:
        if not decided and decided_at is not MOMENTS[0]:
            continue  # undecided: one case per moment is enough
        deadline_date = DEADLINE if published else None
        deadline_at = AT if published else None
        decision = decided_at if decided else None
        expected = sla.application_sla_state(
            state=state,
            deadline_date=deadline_date,
            deadline_at=deadline_at,
            decided_at=decision,
            now=now,
        )
        today = now.astimezone(SHANGHAI).date()
        row = await conn.fetchrow(sql, state, deadline_date, now, today, deadline_at, decision)
        case = (state, decided, published, now, decision)
        assert reports.SLA_STATES[row["code"]] == expected.value, case
        assert [s for s in filters if row[s.value]] == [expected], case
        seen.add(expected)
    # Every state a current clock can be in came up.
    assert seen == set(FILTERABLE_SLA_STATES)
