"""``ipledge demo``, run as a newcomer runs it: against a served instance, over HTTP, on a
database of its own (``<test database>_demo``, committed), and the plain functions that plan its
dates and draw its identifiers."""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import asyncpg
import chinese_calendar
import httpx
import pytest
from sqlalchemy.engine import make_url

from app import migrate
from app.core.db import libpq_url
from app.demo.dates import Calendar, Day, add_months, holiday_receipt, loan_dates
from app.demo.identities import credit_code, patent_number
from app.identifiers import normalise_credit_code, normalise_patent_number

STEPS = (
    "keys",
    "setup",
    "enterprise",
    "applications",
    "approval",
    "pledges",
    "disbursement",
    "repayment",
    "webhook",
    "pool",
    "projection",
)
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
    url = make_url(database_url)
    name = f"{url.database}_demo"
    admin = libpq_url(url.set(database="postgres").render_as_string(False))

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    demo_url = url.set(database=name).render_as_string(False)
    migrate.upgrade(demo_url)
    return demo_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(database_url: str, **settings: str) -> Iterator[str]:
    """``ipledge serve`` in a process of its own, with ``settings`` as IPLEDGE_ variables."""
    port = _free_port()
    env = {
        **os.environ,
        "IPLEDGE_DATABASE_URL": database_url,
        "IPLEDGE_LOG_LEVEL": "WARNING",
        "IPLEDGE_ACCESS_LOG": "false",
        **{f"IPLEDGE_{k.upper()}": v for k, v in settings.items()},
    }
    for name in ("IPLEDGE_WEBHOOKS_ALLOW_PRIVATE", "IPLEDGE_MAX_BACKDATE_DAYS"):
        if name.removeprefix("IPLEDGE_").lower() not in settings:
            env.pop(name, None)
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _ready(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the service did not start: {log.read()}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _demo(url: str, database_url: str, *args: str) -> tuple[int, str, dict[str, tuple[str, str]]]:
    env = {**os.environ, "IPLEDGE_DATABASE_URL": database_url}
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
def test_every_step_against_a_service_configured_for_the_demo(demo_database_url):
    with served(demo_database_url, webhooks_allow_private="true", max_backdate_days="120") as url:
        code, output, steps = _demo(url, demo_database_url, "--relay", "--webhook-wait", "30")
    assert code == 0, output
    assert tuple(steps) == STEPS, output
    must_be_done = [name for name in STEPS if name != "applications"]
    assert {name: steps[name][0] for name in must_be_done} == dict.fromkeys(must_be_done, "done"), (
        output
    )
    if _holiday_within(100, date.today()):
        assert steps["applications"][0] == "done", output
        assert "crosses the public holiday:" in output
    assert "discount: 25 bp → 20 bp" in output
    assert "claim amount: CNY" in output and "limited_by:" in output
    assert "signature: verified with the standardwebhooks library" in output
    assert "data tape exported:" in output
    assert "pool locked: membership and cut-off balances frozen" in output
    assert "chart saved to:" in output and "senior break-even CDR:" in output


@pytest.mark.committed
def test_says_what_a_default_service_leaves_out(demo_database_url):
    """A service that refuses loopback webhooks and back-dates at most 30 days: the demo still
    runs through, and says which setting each missing part needs."""
    with served(demo_database_url) as url:
        code, output, steps = _demo(url, demo_database_url, "--webhook-wait", "1")
    assert code == 0, output
    assert tuple(steps) == STEPS, output
    for name in ("keys", "setup", "enterprise", "approval", "pledges", "disbursement"):
        assert steps[name][0] == "done", output
    status, why = steps["webhook"]
    assert status == "skipped" and "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true" in why, output
    status, why = steps["repayment"]
    assert status == "skipped" and "IPLEDGE_MAX_BACKDATE_DAYS=120" in why, output


def test_no_service_is_a_clear_error():
    result = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--url", f"http://127.0.0.1:{_free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no ipledge service answers" in result.stdout
    assert "make run" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
