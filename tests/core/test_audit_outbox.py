"""The audit trail and the outbox: written with the change, in its transaction, append-only."""

import asyncpg
import pytest

from app.core import audit, outbox
from app.core.context import Ctx
from tests.conftest import slug


class TestAuditTrail:
    async def test_key_creation_is_audited_with_actor_and_request(self, client, make_key, conn):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys",
            json={"role": "securitization", "name": "desk"},
            headers={**admin, "X-Request-ID": "audit-req-1"},
        )
        created = response.json()
        events = await client.get(
            "/v1/audit-events",
            params={"entity_type": "api_key", "entity_id": created["id"]},
            headers=admin,
        )
        assert events.status_code == 200
        [event] = events.json()["items"]
        assert event["action"] == "api_key.created"
        assert event["actor_key_id"] == admin["X-Key-Id"]
        assert event["actor_role"] == "admin"
        assert event["request_id"] == "audit-req-1"
        assert event["before"] is None
        assert event["after"]["role"] == "securitization"
        assert "key" not in event["after"]  # the secret never reaches the trail

    async def test_list_pages_newest_first(self, client, make_key):
        admin = await make_key("admin")
        for i in range(5):
            await client.post(
                "/v1/api-keys", json={"role": "admin", "name": f"p{i}"}, headers=admin
            )
        first = await client.get(
            "/v1/audit-events", params={"limit": 2, "entity_type": "api_key"}, headers=admin
        )
        page = first.json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        ids = [int(e["id"]) for e in page["items"]]
        assert ids == sorted(ids, reverse=True)
        second = await client.get(
            "/v1/audit-events",
            params={"limit": 2, "entity_type": "api_key", "cursor": page["next_cursor"]},
            headers=admin,
        )
        assert int(second.json()["items"][0]["id"]) < ids[-1]

    async def test_bad_cursor_is_422(self, client, make_key):
        admin = await make_key("admin")
        response = await client.get("/v1/audit-events", params={"cursor": "!!"}, headers=admin)
        assert response.status_code == 422
        assert slug(response) == "validation-error"

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_events SET action = 'tampered'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
        ],
    )
    async def test_database_refuses_to_change_the_trail(self, ctx: Ctx, conn, statement):
        audit.record(ctx, action="x.y", entity_type="x", entity_id="1", after={"a": 1})
        await outbox.flush(ctx)
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            async with conn.transaction():
                await conn.execute(statement)


class TestOutbox:
    async def test_event_written_with_the_change(self, ctx: Ctx, conn):
        event_id = outbox.emit(
            ctx, "pledge.registered", {"pledge_id": "p1"}, district_code="440307"
        )
        await outbox.flush(ctx)
        row = await conn.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event_id)
        assert row["type"] == "pledge.registered"
        assert row["district_code"] == "440307"
        assert row["data"] == {"pledge_id": "p1"}

    async def test_rolled_back_change_emits_nothing(self, ctx: Ctx, conn):
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                event_id = outbox.emit(ctx, "loan.disbursed", {"loan_id": "l1"})
                audit.record(ctx, action="loan.disbursed", entity_type="loan", entity_id="l1")
                await outbox.flush(ctx)
                raise RuntimeError("the business change failed after the event was written")
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox_events WHERE id = $1", event_id) == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM audit_events WHERE entity_id = 'l1'") == 0

    async def test_failed_request_leaves_no_event_or_audit(self, client, make_key, conn):
        admin = await make_key("admin")
        before = await conn.fetchval("SELECT count(*) FROM audit_events")
        response = await client.post(
            "/v1/api-keys", json={"role": "district_bureau", "subject": "000000"}, headers=admin
        )
        assert response.status_code == 422
        assert await conn.fetchval("SELECT count(*) FROM audit_events") == before
