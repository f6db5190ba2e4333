"""Idempotency-Key: replay byte for byte, 422 on reuse with another body, 409 while in flight,
24-hour window, and never two effects under concurrency."""

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from uuid import UUID

import orjson
import pytest

from app.core import idempotency
from tests.conftest import slug


async def _count_named(conn, name: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM api_keys WHERE name = $1", name)


def _replay_of(first) -> bytes:
    """What a replay of a key's creation answers: the first answer byte for byte, but for the
    key itself, which is shown once (null)."""
    return orjson.dumps({**first.json(), "key": None})


class TestReplay:
    async def test_same_key_same_body_replays_byte_for_byte(self, client, make_key, conn):
        admin = await make_key("admin")
        headers = {**admin, "Idempotency-Key": "create-ops-key-1"}
        body = {"role": "credit_officer", "name": "replay-me"}
        first = await client.post("/v1/api-keys", json=body, headers=headers)
        second = await client.post("/v1/api-keys", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["key"].startswith("ipk_")
        assert second.content == _replay_of(first)
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await _count_named(conn, "replay-me") == 1

    async def test_same_key_other_body_is_422(self, client, make_key, conn):
        admin = await make_key("admin")
        headers = {**admin, "Idempotency-Key": "k-2"}
        assert (
            await client.post("/v1/api-keys", json={"role": "admin", "name": "a"}, headers=headers)
        ).status_code == 201
        reused = await client.post(
            "/v1/api-keys", json={"role": "admin", "name": "b"}, headers=headers
        )
        assert reused.status_code == 422
        assert slug(reused) == "idempotency-key-reused"
        assert await _count_named(conn, "b") == 0

    async def test_keys_are_per_caller(self, client, make_key, conn):
        one, two = await make_key("admin"), await make_key("admin")
        body = {"role": "admin", "name": "per-caller"}
        for headers in (one, two):
            response = await client.post(
                "/v1/api-keys", json=body, headers={**headers, "Idempotency-Key": "shared"}
            )
            assert response.status_code == 201
            assert "idempotent-replayed" not in response.headers
        assert await _count_named(conn, "per-caller") == 2

    async def test_window_is_24_hours(self, client, make_key, conn, clock):
        admin = await make_key("admin")
        headers = {**admin, "Idempotency-Key": "k-window"}
        body = {"role": "admin", "name": "window"}
        assert (await client.post("/v1/api-keys", json=body, headers=headers)).status_code == 201
        clock.advance(hours=23, minutes=59)
        assert (await client.post("/v1/api-keys", json=body, headers=headers)).headers.get(
            "idempotent-replayed"
        ) == "true"
        clock.advance(minutes=2)
        again = await client.post("/v1/api-keys", json=body, headers=headers)
        assert again.status_code == 201 and "idempotent-replayed" not in again.headers
        assert await _count_named(conn, "window") == 2

    async def test_failed_request_stores_nothing(self, client, make_key, conn):
        admin = await make_key("admin")
        headers = {**admin, "Idempotency-Key": "k-fail"}
        bad = await client.post(
            "/v1/api-keys", json={"role": "district_bureau", "subject": "999999"}, headers=headers
        )
        assert bad.status_code == 422
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM idempotency_records WHERE idempotency_key = 'k-fail'"
            )
            == 0
        )

    @pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"two words"])
    async def test_malformed_key_is_422(self, client, make_key, key):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys", json={"role": "admin"}, headers={**admin, "Idempotency-Key": key}
        )
        assert response.status_code == 422


@pytest.mark.committed
class TestConcurrency:
    async def test_in_flight_duplicate_is_409(self, live_client, make_live_key, live_runtime):
        admin = await make_live_key("admin")
        key_id = UUID(admin["X-Key-Id"])
        fake_ctx = SimpleNamespace(principal=SimpleNamespace(key_id=key_id))
        lock = idempotency.lock_id(fake_ctx, "in-flight")
        async with live_runtime.database.engine.connect() as sa_conn:
            holder = (await sa_conn.get_raw_connection()).driver_connection
            async with holder.transaction():
                # Another request holds this key right now.
                assert await holder.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock)
                response = await live_client.post(
                    "/v1/api-keys",
                    json={"role": "admin", "name": "in-flight"},
                    headers={**admin, "Idempotency-Key": "in-flight"},
                )
        assert response.status_code == 409
        assert slug(response) == "idempotency-request-in-progress"
        assert response.headers["retry-after"] == "1"
        async with live_runtime.database.connection() as db:
            assert (
                await db.fetchval(
                    "SELECT count(*) FROM api_keys WHERE name = 'in-flight' AND created_by = $1",
                    key_id,
                )
                == 0
            )

    async def test_simultaneous_identical_requests_act_once(
        self, live_client, make_live_key, live_runtime
    ):
        admin = await make_live_key("admin")
        headers = {**admin, "Idempotency-Key": "burst"}
        body = {"role": "credit_officer", "name": "burst"}
        responses = await asyncio.gather(
            *[live_client.post("/v1/api-keys", json=body, headers=headers) for _ in range(12)]
        )
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert created
        # One answer made the key; any other success is its replay.
        [made] = [r for r in created if "idempotent-replayed" not in r.headers]
        assert all(r.content == _replay_of(made) for r in created if r is not made)
        async with live_runtime.database.connection() as db:
            count = await db.fetchval(
                "SELECT count(*) FROM api_keys WHERE name = 'burst' AND created_by = $1",
                UUID(admin["X-Key-Id"]),
            )
        assert count == 1

    async def test_retries_of_a_finished_request_all_get_the_replay(
        self, live_client, make_live_key, live_runtime
    ):
        """Once the first request has committed, its retries replay it however many run at
        once, and even while another retry holds the key's lock to replay it."""
        admin = await make_live_key("admin")
        headers = {**admin, "Idempotency-Key": "finished"}
        body = {"role": "credit_officer", "name": "finished"}
        first = await live_client.post("/v1/api-keys", json=body, headers=headers)
        assert first.status_code == 201

        retries = await asyncio.gather(
            *[live_client.post("/v1/api-keys", json=body, headers=headers) for _ in range(12)]
        )
        assert [r.status_code for r in retries] == [201] * 12
        assert all(r.content == _replay_of(first) for r in retries)
        assert all(r.headers["idempotent-replayed"] == "true" for r in retries)

        fake_ctx = SimpleNamespace(principal=SimpleNamespace(key_id=UUID(admin["X-Key-Id"])))
        lock = idempotency.lock_id(fake_ctx, "finished")
        async with live_runtime.database.engine.connect() as sa_conn:
            holder = (await sa_conn.get_raw_connection()).driver_connection
            async with holder.transaction():
                # A concurrent retry holds the key while it replays.
                assert await holder.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock)
                during = await live_client.post("/v1/api-keys", json=body, headers=headers)
                other_body = await live_client.post(
                    "/v1/api-keys", json={**body, "name": "other"}, headers=headers
                )
        assert during.status_code == 201 and during.content == _replay_of(first)
        assert other_body.status_code == 422
        assert slug(other_body) == "idempotency-key-reused"
        async with live_runtime.database.connection() as db:
            count = await db.fetchval(
                "SELECT count(*) FROM api_keys WHERE name = 'finished' AND created_by = $1",
                UUID(admin["X-Key-Id"]),
            )
        assert count == 1

    async def test_expired_records_are_purged(self, live_runtime, clock):
        from app.worker import purge_idempotency_records

        async with live_runtime.database.connection() as db:
            await db.execute(
                """INSERT INTO idempotency_records
                   (api_key_id, idempotency_key, request_hash, status_code, headers, body,
                    created_at)
                   VALUES (gen_random_uuid(), 'old', '\\x00', 201, '{}', '', $1)""",
                clock.now() - timedelta(hours=25),
            )
        assert await purge_idempotency_records(live_runtime) >= 1
        async with live_runtime.database.connection() as db:
            assert (
                await db.fetchval(
                    "SELECT count(*) FROM idempotency_records WHERE idempotency_key = 'old'"
                )
                == 0
            )
