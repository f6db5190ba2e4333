"""``ipledge demo``, run as a newcomer runs it: ``make run`` on a fresh clone (the embedded
PostgreSQL and its development defaults), then ``make demo``, every step done and none skipped;
against a service on a database of its own with the strict defaults, what it leaves out and why;
and the plain functions that plan its dates and draw its identifiers."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from datetime import date, timedelta

import chinese_calendar
import pytest

from app.demo.dates import Calendar, Day, add_months, holiday_receipt, loan_dates
from app.demo.identities import credit_code, patent_number
from app.demo.steps import STEPS as DEMO_STEPS
from app.identifiers import normalise_credit_code, normalise_patent_number
from tests.client.served import free_port, fresh_database, served, stop_embedded_server

STEPS = tuple(step.name for step in DEMO_STEPS)
SUMMARY_LINE = re.compile(r"^\s*(\d+)\s+(\w+)\s+(done|partial|skipped|failed|not run)\s+(.*)$")


# --- the dates it plans and the identifiers it draws --------------------------------------------


def _calendar(start: date, end: date) -> Calendar:
    """The official calendar as the service loads it (from the chinese-calendar package)."""
    days = []
    day = start
    while day <= end:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if day in chinese_calendar.holidays:
            kind = "holiday"
        elif day.weekday() >= 5 and not on_holiday:
            kind = "makeup_workday"
        else:
            kind = "weekend" if on_holiday else "workday"
        days.append(Day(day, not on_holiday, kind, name))
        day += timedelta(days=1)
    return Calendar(days)


CALENDAR_2026 = _calendar(date(2026, 1, 1), date(2026, 12, 31))


class TestHolidayReceipt:
    def test_reaches_back_to_the_eve_of_national_day(self):
        # Wed 30 Sep + 5 working days runs across 1-7 Oct and counts Sat 10 Oct.
        assert holiday_receipt(CALENDAR_2026, date(2026, 11, 22)) == date(2026, 9, 30)

    def test_receives_today_when_a_holiday_lies_within_the_tier_ahead(self):
        assert holiday_receipt(CALENDAR_2026, date(2026, 9, 28)) == date(2026, 9, 28)

    def test_none_when_the_last_holiday_is_out_of_reach(self):
        assert holiday_receipt(CALENDAR_2026, date(2026, 11, 22), reach_back_days=30) is None


class TestLoanDates:
    def test_first_instalment_falls_due_by_today(self):
        planned = loan_dates(CALENDAR_2026, date(2026, 11, 22))
        assert planned.disbursed_on == date(2026, 10, 22)  # a Thursday
        assert planned.received_on == date(2026, 10, 15)
        assert add_months(planned.disbursed_on, 1) <= date(2026, 11, 22)

    def test_a_month_back_from_a_day_the_earlier_month_lacks(self):
        assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
        planned = loan_dates(CALENDAR_2026, date(2026, 3, 31))
        assert add_months(planned.disbursed_on, 1) <= date(2026, 3, 31)


def test_identifiers_pass_the_services_own_checks():
    rng = random.Random(7)
    for _ in range(500):
        code = credit_code(rng)
        assert normalise_credit_code(code) == code and code.startswith("91440300MA5")
        for kind in ("invention_patent", "utility_model"):
            number = patent_number(rng, kind, 2019)
            assert normalise_patent_number(kind, number) == number


# --- against a served instance ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_database_url(database_url: str) -> str:
    return fresh_database(database_url, "demo")


def _demo(
    url: str, database_url: str | None, *args: str, **env_vars: str
) -> tuple[int, str, dict[str, tuple[str, str]]]:
    env = {k: v for k, v in os.environ.items() if k != "IPLEDGE_DATABASE_URL"}
    env.update(env_vars)
    if database_url is not None:
        env["IPLEDGE_DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--url", url, "--no-color", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    output = result.stdout + result.stderr
    summary = output.rsplit("Summary", 1)[-1]
    steps = {m[2]: (m[3], m[4]) for line in summary.splitlines() if (m := SUMMARY_LINE.match(line))}
    return result.returncode, output, steps


def _holiday_within(days_back: int, today: date) -> bool:
    """A public holiday in the last ``days_back`` days (safely inside what the demo reaches)."""
    return any(today - timedelta(days=n) in chinese_calendar.holidays for n in range(days_back))


@pytest.mark.committed
def test_every_step_on_a_fresh_clones_defaults(tmp_path):
    """``make run`` (no IPLEDGE_DATABASE_URL: the embedded PostgreSQL), then ``make demo``: no
    worker, no extra settings, nothing restarted."""
    var_dir = tmp_path / "var"
    try:
        with served(None, var_dir=str(var_dir)) as url:
            code, output, steps = _demo(url, None, IPLEDGE_VAR_DIR=str(var_dir))
    finally:
        stop_embedded_server(var_dir)
    assert code == 0, output
    assert tuple(steps) == STEPS, output
    # Every step done; only the holiday clock may be partial, when no public holiday lies
    # within reach of today in the published calendar.
    not_done = {name: status for name, (status, _) in steps.items() if status != "done"}
    assert not_done in ({}, {"applications": "partial"}), output
    if _holiday_within(100, date.today()):
        assert steps["applications"][0] == "done", output
        assert "crosses the public holiday:" in output
    assert "discount: 25 bp → 20 bp" in output
    assert "claim amount: CNY" in output and "limited_by:" in output
    assert "ran the webhook relay in this process" in output
    assert "signature: verified with the standardwebhooks library" in output
    assert "data tape exported:" in output
    assert "pool locked: membership and cut-off balances frozen" in output


@pytest.mark.committed
def test_says_what_a_default_service_leaves_out(demo_database_url):
    """A service on a database of its own keeps the strict defaults (no loopback webhooks,
    back-dating at most 30 days): the demo still runs through, and says which setting each
    missing part needs."""
    with served(demo_database_url) as url:
        code, output, steps = _demo(url, demo_database_url, "--webhook-wait", "1")
    assert code == 0, output
    assert tuple(steps) == STEPS, output
    for name in ("keys", "setup", "enterprise", "approval", "pledges", "disbursement"):
        assert steps[name][0] == "done", output
    status, why = steps["webhook"]
    assert status == "skipped" and "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true" in why, output
    # Booked today, the loan's first instalment is not yet due: the early payment pays that
    # instalment's interest first, which raises the interest-subsidy claim all the same.
    assert steps["repayment"][0] == "done", output
    assert "before instalment 1 falls due" in output and "claim amount: CNY" in output, output


def test_no_service_is_a_clear_error():
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no ipledge service answers" in result.stdout
    assert "make run" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
