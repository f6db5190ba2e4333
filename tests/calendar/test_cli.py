"""``ipledge calendar load``, run as an operator would run it, against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from app.core.db import libpq_url


def ipledge(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IPLEDGE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120
    )


def load(database_url: str, *flags: str) -> str:
    result = ipledge("calendar", "load", *flags, database_url=database_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


async def snapshot(database_url: str) -> tuple[int, list[tuple]]:
    conn = await asyncpg.connect(libpq_url(database_url))
    try:
        revision = await conn.fetchval("SELECT revision FROM calendar_state WHERE id = 1")
        rows = await conn.fetch(
            """SELECT day, kind, holiday_name, holiday_name_zh, source FROM calendar_days
               WHERE day BETWEEN '2026-01-01' AND '2026-12-31' ORDER BY day"""
        )
        return revision, [tuple(r) for r in rows]
    finally:
        await conn.close()


@pytest.mark.committed
class TestCalendarLoad:
    async def test_loading_again_changes_nothing(self, database_url):
        load(database_url, "--force")  # whatever earlier runs left, start from the package
        before = await snapshot(database_url)
        line = load(database_url)
        assert line == (
            "calendar from chinese-calendar 1.11.0: loaded none; unchanged 2004–2026; "
            "kept as an admin published them none; nothing changed"
        )
        assert await snapshot(database_url) == before

    async def test_an_admins_year_is_kept_unless_forced(
        self, database_url, live_client, make_live_key
    ):
        load(database_url, "--force")
        admin = await make_live_key("admin")
        current = (await live_client.get("/v1/calendar/years/2026", headers=admin)).json()
        notice = {
            "notice": "2026 as the admin has it",
            "holidays": [
                {"date": h["date"], "name": h["name"]}
                for h in current["holidays"]
                if h["date"] != "2026-10-07"
            ],
            "makeup_workdays": [m["date"] for m in current["makeup_workdays"]],
        }
        restored = False
        try:
            response = await live_client.put("/v1/calendar/years/2026", json=notice, headers=admin)
            assert response.status_code == 200, response.text
            admins = await snapshot(database_url)

            line = load(database_url)
            assert "loaded none; unchanged 2004–2025; kept as an admin published them 2026" in line
            assert await snapshot(database_url) == admins
            assert load(database_url) == line  # and again: idempotent

            forced = load(database_url, "--force")
            restored = True
            assert (
                "loaded 2026; unchanged 2004–2025; kept as an admin published them none" in forced
            )
            revision, rows = await snapshot(database_url)
            assert revision > admins[0]
            october_7 = next(r for r in rows if r[0].isoformat() == "2026-10-07")
            assert october_7 == (
                october_7[0],
                "holiday",
                "National Day",
                "国庆节",
                "chinese-calendar 1.11.0",
            )

            events = await live_client.get(
                "/v1/audit-events",
                params={"entity_type": "calendar_year", "entity_id": "2026", "limit": 1},
                headers=admin,
            )
            [event] = events.json()["items"]
            assert event["action"] == "calendar_year.loaded"
            assert (event["actor_role"], event["actor_subject"]) == ("admin", "cli")
            assert event["before"]["source"] == "admin"
            assert event["after"]["holidays"]["2026-10-07"] == "National Day"
        finally:
            if not restored:  # leave the package's 2026 for the tests that follow
                load(database_url, "--force")
