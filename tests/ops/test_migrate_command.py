"""``ipledge migrate`` as a release's one-shot job runs it: its log says, in JSON lines like
every process's, which migrations ran; a database it cannot reach, or a lock held through every
attempt, is one line to act on rather than a traceback. Any other failure keeps its traceback."""

from __future__ import annotations

import json

import asyncpg

from app import migrate
from tests.ops.conftest import ipledge


def test_the_job_logs_each_migration_it_runs(scratch_database):
    url = scratch_database("migrate_job")
    proc = ipledge("migrate", env={"IPLEDGE_DATABASE_URL": url})
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    steps = [line["message"] for line in lines if line["message"].startswith("Running upgrade")]
    assert len(steps) == len(migrate.known_revisions())
    assert steps[-1].startswith(f"Running upgrade {migrate.known_revisions()[-2]} -> ")
    assert err.strip() == "database at head (1 attempt)"


def test_a_database_it_cannot_reach_is_one_line():
    password = "Sup3r-S3cret-Pa55"
    proc = ipledge(
        "migrate", env={"IPLEDGE_DATABASE_URL": f"postgresql://ipledge:{password}@127.0.0.1:9/x"}
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.splitlines() == [
        "ipledge: database not reachable: ConnectionRefusedError: "
        "[Errno 111] Connect call failed ('127.0.0.1', 9)"
    ]
    assert password not in out + err


def test_a_lock_held_through_every_attempt_says_where_to_look():
    gave_up = RuntimeError("(sqlalchemy) canceling statement due to lock timeout")
    gave_up.__cause__ = asyncpg.exceptions.LockNotAvailableError("lock timeout")
    assert "pg_stat_activity" in (migrate.why_not_run(gave_up) or "")


def test_a_migration_that_breaks_keeps_its_traceback():
    broken = RuntimeError("a migration's own bug")
    broken.__cause__ = asyncpg.exceptions.CheckViolationError("violates check constraint")
    assert migrate.why_not_run(broken) is None
