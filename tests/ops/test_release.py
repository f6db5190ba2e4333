"""A release rehearsal: code and schema one revision apart, in both directions.

Releases migrate first and roll out after (docs/operations.md). While they do, the code of the
previous release runs on the new schema, and during a rollback or a careless roll-out new code
may meet an old schema. Readiness must tell these apart: a newer schema that declares this code
compatible is ready (and requests keep working on it); a schema behind the code is not.

Revisions this code does not know are simulated by a copy of the migrations directory with a
later revision added, applied to a scratch database of the test's own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from app import migrate
from app.core.db import libpq_url
from app.ops import schema
from tests import factories
from tests.conftest import _issue_key
from tests.desk import Desk
from tests.ops.conftest import app_client

LATER = '''"""A later release's {kind} migration (test only).

Revision ID: {rev}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None
compatible_with = "{compatible}"


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''

EXPAND = dict(
    kind="expand",
    upgrade='op.add_column("applications", sa.Column("channel", sa.Text(), nullable=True))\n'
    '    op.create_table("referrals", sa.Column("id", sa.Integer(), primary_key=True))',
    downgrade='op.drop_table("referrals")\n    op.drop_column("applications", "channel")',
)
CONTRACT = dict(
    kind="contract",
    upgrade='op.drop_table("referrals")',
    downgrade='op.create_table("referrals", sa.Column("id", sa.Integer(), primary_key=True))',
)


def add_revision(directory: Path, rev: str, down: str, compatible: str, spec: dict) -> None:
    text = LATER.format(rev=rev, down=down, compatible=compatible, **spec)
    (directory / "versions" / f"29990101_{rev}_later.py").write_text(text)


# --- the verdict, case by case -----------------------------------------------------------------

KNOWN = ("0011", "0012", "0013")


@pytest.mark.parametrize(
    ("current", "oldest", "status", "ready"),
    [
        ("0013", None, "ready", True),
        ("0012", None, "behind", False),  # new code, old schema
        ("0011", None, "behind", False),
        ("0014", "0013", "ahead", True),  # old code, new schema that keeps it working
        ("0014", "0012", "ahead", True),
        ("0014", "0014", "incompatible", False),  # a contract step this code cannot serve
        ("0014", None, "incompatible", False),  # nothing recorded: assume the worst
        (None, None, "missing", False),
    ],
)
def test_verdict(current, oldest, status, ready):
    state = schema.judge(current, oldest, head="0013", known=KNOWN)
    assert (state.status, state.ready) == (status, ready)


def test_each_step_records_the_oldest_compatible_code(scratch_database):
    url = scratch_database("compat")
    migrate.upgrade(url)

    async def rows() -> dict[str, str]:
        conn = await asyncpg.connect(libpq_url(url))
        try:
            records = await conn.fetch("SELECT * FROM schema_compatibility")
            return {r["revision"]: r["oldest_compatible_revision"] for r in records}
        finally:
            await conn.close()

    # 0013 only adds a table, 0014 a column and 0015 widens one: the code of the step before
    # still works on each, as the modules declare.
    assert asyncio.run(rows()) == {"0013": "0012", "0014": "0013", "0015": "0014"}


# --- the rehearsal -----------------------------------------------------------------------------


async def _desk(http, url: str) -> Desk:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        enterprise = await factories.enterprise(conn)
        assets = [await factories.ip_asset(conn, enterprise) for _ in range(2)]
    finally:
        await conn.close()
    runtime = http.runtime

    async def issue(role, subject=None):
        async with runtime.database.connection() as db, db.transaction():
            return await _issue_key(db, runtime.settings, runtime.clock, role, subject)

    rm_id = f"RM{factories._unique_digits(6)}"
    return Desk(
        client=http,
        bank=await issue("bank_system"),
        rm=await issue("relationship_manager", rm_id),
        rm_id=rm_id,
        other_rm=await issue("relationship_manager", rm_id + "X"),
        officer=await issue("credit_officer"),
        admin=await issue("admin"),
        enterprise_id=enterprise,
        assets=assets,
    )


async def _work(desk: Desk) -> None:
    """A draft created, read, submitted and listed: what the service does all day."""
    draft = await desk.create(assets=desk.assets[:1])
    assert (await desk.get(draft))["state"] == "draft"
    await desk.submit(draft)
    listed = await desk.client.get("/v1/applications", headers=desk.rm)
    assert listed.status_code == 200
    assert draft["id"] in {item["id"] for item in listed.json()["items"]}


async def test_running_code_stays_ready_and_working_on_the_next_releases_schema(
    scratch_database, migrations_copy
):
    """Migrate first (an expand step that declares this code compatible): readiness holds and
    requests keep working, so a release does not take the running processes out of service.
    A later contract step that needs the new code turns this code not ready."""
    url = scratch_database("ahead")
    head = migrate.head_revision()
    add_revision(migrations_copy, "9001", head, head, EXPAND)
    add_revision(migrations_copy, "9002", "9001", "9002", CONTRACT)
    await asyncio.to_thread(migrate.upgrade, url, "9001", directory=migrations_copy)

    async with app_client(url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ahead"
        assert ready.json()["migration"] == "9001"
        assert ready.json()["oldest_compatible_migration"] == head
        await _work(await _desk(http, url))

        await asyncio.to_thread(migrate.upgrade, url, "9002", directory=migrations_copy)
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "incompatible"
        assert (await http.get("/healthz")).status_code == 200


async def test_new_code_on_the_previous_schema_is_not_ready_until_migrated(scratch_database):
    """New code rolled out before the migration: live (200 on /healthz) but not ready, so no
    traffic reaches it; migrating makes it ready without a restart."""
    url = scratch_database("behind")
    previous = migrate.known_revisions()[-2]
    await asyncio.to_thread(migrate.upgrade, url, previous)

    async with app_client(url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "migrations pending"
        assert ready.json()["migration"] == previous

        await asyncio.to_thread(migrate.upgrade, url)
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        await _work(await _desk(http, url))


async def test_previous_code_is_ready_on_this_releases_schema(scratch_database, monkeypatch):
    """The code of the previous release (it knows the chain up to head - 1) against the schema
    this release's migration leaves: ready, because this release's migration declares it
    compatible."""
    url = scratch_database("previous_code")
    await asyncio.to_thread(migrate.upgrade, url)
    older = migrate.known_revisions()[:-1]
    monkeypatch.setattr(schema, "head_revision", lambda: older[-1])
    monkeypatch.setattr(schema, "known_revisions", lambda: older)
    async with app_client(url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ahead"
        await _work(await _desk(http, url))


async def test_new_code_meeting_a_missing_column_answers_503_not_500(scratch_database):
    """Were traffic to reach new code on a schema without what it needs (readiness keeps it
    away), the request is answered as what it is: a 503 schema-mismatch problem with
    Retry-After, never a 500."""
    from tests.conftest import problem_of

    url = scratch_database("missing_column")
    await asyncio.to_thread(migrate.upgrade, url)
    async with app_client(url) as http:
        admin = (await _desk(http, url)).admin
        assert (await http.get("/v1/api-keys", headers=admin)).status_code == 200
        # The schema as an older release left it: a column this code reads is not there.
        conn = await asyncpg.connect(libpq_url(url))
        try:
            await conn.execute("ALTER TABLE api_keys DROP COLUMN name")
            await conn.execute(
                "UPDATE alembic_version SET version_num = $1", migrate.known_revisions()[-2]
            )
        finally:
            await conn.close()
        response = await http.get("/v1/api-keys", headers=admin)
        assert response.status_code == 503, response.text
        assert problem_of(response)["type"].endswith("/schema-mismatch")
        assert response.headers["retry-after"]
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).json()["status"] == "migrations pending"
