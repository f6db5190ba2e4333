"""The approval clock's rules, as plain functions: the tier an amount falls in, the deadline
instant of a deadline date, and the SLA state of a clock at a moment.

The same state is also expressed in SQL (``SLA_STATE_SQL``) so that lists can filter on it;
the tests hold the two to each other.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from app.applications.states import DECIDED, OPEN, ApplicationState, sql_list
from app.core.types import SHANGHAI

TIER_1_MAX = Decimal("10000000.00")
TIER_2_MAX = Decimal("30000000.00")
# The tiers, once: (the largest amount in the tier, None for no limit; working days).
TIERS: tuple[tuple[Decimal | None, int], ...] = ((TIER_1_MAX, 3), (TIER_2_MAX, 5), (None, 10))
TIER_DAYS = tuple(days for _, days in TIERS)


class SlaState(StrEnum):
    RUNNING = "running"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"
    PAUSED = "paused"
    PENDING_CALENDAR = "pending_calendar"
    # Withdrawn before any decision: the clock stopped without a verdict either way.
    WITHDRAWN = "withdrawn"
    # A past clock stopped by a return for information (the current one shows ``paused``).
    RETURNED = "returned"


OPEN_STATES = OPEN
DECIDED_STATES = DECIDED


def tier_working_days(amount: Decimal) -> int:
    """3 working days up to 10,000,000.00 inclusive, 5 up to 30,000,000.00 inclusive, else 10."""
    for limit, days in TIERS:
        if limit is None or amount <= limit:
            return days
    raise AssertionError("the last tier has no limit")


@functools.cache
def tier_sql(amount: str) -> str:
    """``tier_working_days`` as a SQL expression over the amount expression ``amount``."""
    cases = " ".join(
        f"WHEN {amount} <= {limit:.2f} THEN {days}" for limit, days in TIERS if limit is not None
    )
    return f"CASE {cases} ELSE {TIERS[-1][1]} END"


def deadline_instant(deadline_date: date) -> datetime:
    """The end of the deadline date in Asia/Shanghai."""
    return datetime.combine(deadline_date, time(23, 59, 59, 999999), tzinfo=SHANGHAI)


def _judged(deadline_at: datetime | None, stopped_at: datetime) -> SlaState:
    if deadline_at is None:
        return SlaState.PENDING_CALENDAR
    return SlaState.MET if stopped_at <= deadline_at else SlaState.MISSED


def running_state(
    deadline_date: date | None, deadline_at: datetime | None, now: datetime
) -> SlaState:
    """The state of a clock that is still running."""
    if deadline_date is None or deadline_at is None:
        return SlaState.PENDING_CALENDAR
    if now > deadline_at:
        return SlaState.BREACHED
    if now.astimezone(SHANGHAI).date() == deadline_date:
        return SlaState.AT_RISK
    return SlaState.RUNNING


def application_sla_state(
    *,
    state: str,
    deadline_date: date | None,
    deadline_at: datetime | None,
    decided_at: datetime | None,
    now: datetime,
) -> SlaState | None:
    """The SLA state of an application's current clock, true at ``now``. None for drafts."""
    if decided_at is not None:
        return _judged(deadline_at, decided_at)
    if state == ApplicationState.DRAFT:
        return None
    if state == ApplicationState.AWAITING_INFORMATION:
        return SlaState.PAUSED
    if state == ApplicationState.WITHDRAWN:
        return SlaState.WITHDRAWN
    return running_state(deadline_date, deadline_at, now)


def clock_state(
    *,
    deadline_date: date | None,
    deadline_at: datetime | None,
    stopped_at: datetime | None,
    stop_reason: str | None,
    is_current: bool,
    now: datetime,
) -> SlaState:
    """The state of one clock in an application's history."""
    if stopped_at is None:
        return running_state(deadline_date, deadline_at, now)
    if stop_reason == "returned":
        return SlaState.PAUSED if is_current else SlaState.RETURNED
    if stop_reason == "withdrawn":
        return SlaState.WITHDRAWN
    return _judged(deadline_at, stopped_at)


# The SQL twin of ``application_sla_state`` over an ``applications`` row aliased ``a``;
# $now (timestamptz) and $today (date) are bound by the caller through ``sla_filter``.
def sla_filter(state: SlaState, now_param: str, today_param: str) -> str:
    open_ = f"a.state IN {sql_list(OPEN)} AND a.decided_at IS NULL"
    match state:
        case SlaState.RUNNING:
            return f"{open_} AND a.deadline_date > {today_param}"
        case SlaState.AT_RISK:
            return f"{open_} AND a.deadline_date = {today_param} AND a.deadline_at >= {now_param}"
        case SlaState.BREACHED:
            return f"{open_} AND a.deadline_at < {now_param}"
        case SlaState.PENDING_CALENDAR:
            return (
                "a.deadline_date IS NULL AND (a.decided_at IS NOT NULL OR "
                f"a.state IN {sql_list(OPEN)})"
            )
        case SlaState.MET:
            return "a.decided_at IS NOT NULL AND a.decided_at <= a.deadline_at"
        case SlaState.MISSED:
            return "a.decided_at IS NOT NULL AND a.decided_at > a.deadline_at"
        case SlaState.PAUSED:
            return f"a.state = '{ApplicationState.AWAITING_INFORMATION}'"
        case SlaState.WITHDRAWN:
            return f"a.state = '{ApplicationState.WITHDRAWN}' AND a.decided_at IS NULL"
    raise ValueError(f"{state} is not a state an application's current clock can be in")


FILTERABLE_SLA_STATES = tuple(s for s in SlaState if s is not SlaState.RETURNED)
