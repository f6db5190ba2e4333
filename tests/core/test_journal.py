"""The one writer of the audit trail and the outbox (``app.core.journal``): typed entries,
rendered one way, written by the statement or the transaction of their change."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from app.core import journal
from app.core.db import Db

ACTOR = journal.Actor(
    at=datetime(2026, 3, 9, 2, 0, tzinfo=UTC),
    key_id=None,
    role="admin",
    subject="journal-test",
    request_id="req-journal",
)


async def _write(conn, ctes: list[str], params: journal.Params, tail: str = "SELECT 1") -> None:
    await Db(conn).execute(journal.with_clause(ctes) + tail, *params.values)


class TestQueuedEntries:
    async def test_are_written_with_their_actor_once_each(self, conn):
        entity = str(uuid4())
        params = journal.Params()
        entries = [
            journal.AuditEntry("thing.made", "thing", entity, None, {"n": 1}),
            journal.AuditEntry("thing.moved", "thing", entity, {"n": 1}, {"n": 2}),
        ]
        event = journal.Event("thing.moved", {"thing_id": entity}, district_code="440307")
        await _write(conn, journal.render(params, ACTOR, entries, [event]), params)
        rows = await conn.fetch(
            "SELECT action, before, after, actor_role, actor_subject, request_id, occurred_at "
            "FROM audit_events WHERE entity_id = $1 ORDER BY id",
            entity,
        )
        assert [r["action"] for r in rows] == ["thing.made", "thing.moved"]
        assert rows[0]["before"] is None and rows[1]["before"] == {"n": 1}
        assert rows[1]["after"] == {"n": 2}
        assert {(r["actor_role"], r["actor_subject"], r["request_id"]) for r in rows} == {
            ("admin", "journal-test", "req-journal")
        }
        assert rows[0]["occurred_at"] == ACTOR.at
        written = await conn.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event.id)
        assert written["type"] == "thing.moved" and written["district_code"] == "440307"
        assert written["data"] == {"thing_id": entity}

    def test_an_entry_computed_by_sql_needs_source_rows(self):
        entry = journal.AuditEntry("thing.made", "thing", journal.Sql("src.id::text"))
        with pytest.raises(TypeError, match="source rows"):
            journal.render(journal.Params(), ACTOR, [entry], [])


class TestEntriesOfAStatement:
    async def _run(self, conn, ids: list[str]) -> None:
        params = journal.Params()
        source = f"(SELECT unnest({params.add(ids)}::text[]) AS id) AS src"
        seen = params.add('{"seen": true}')
        entry = journal.AuditEntry(
            action="thing.counted",
            entity_type="thing",
            entity_id=journal.Sql("src.id"),
            after=journal.Sql(f"{seen}::jsonb || jsonb_build_object('id', src.id)"),
        )
        # A statement of many rows names each row's event id in SQL.
        event = journal.Event(
            "thing.counted",
            journal.Sql("jsonb_build_object('id', src.id)"),
            id=journal.Sql("uuid7()"),
        )
        await _write(conn, journal.render(params, ACTOR, [entry], [event], source=source), params)

    async def test_are_written_once_per_source_row(self, conn):
        ids = [str(uuid4()), str(uuid4())]
        await self._run(conn, ids)
        rows = await conn.fetch(
            "SELECT entity_id, after FROM audit_events WHERE entity_id = ANY($1::text[])", ids
        )
        assert sorted(r["entity_id"] for r in rows) == sorted(ids)
        assert all(r["after"] == {"seen": True, "id": r["entity_id"]} for r in rows)

    async def test_no_source_row_writes_nothing(self, conn):
        before = await conn.fetchval("SELECT count(*) FROM audit_events")
        await self._run(conn, [])
        assert await conn.fetchval("SELECT count(*) FROM audit_events") == before


APP = Path(__file__).resolve().parents[2] / "app"


def test_nothing_else_writes_the_audit_trail_or_the_outbox():
    writes = re.compile(r"INSERT\s+INTO\s+(audit_events|outbox_events)", re.IGNORECASE)
    writers = {
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if writes.search(path.read_text(encoding="utf-8"))
    }
    assert writers == {"core/journal.py"}
