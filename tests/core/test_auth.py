"""API keys: 401 for a missing, malformed, unknown or revoked key; 403 for a role that may
never do the action; keys shown once and stored only as a hash."""

import asyncio
import hashlib
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.core.routing import ApiRouter
from app.keys.domain import LiveKey
from tests.conftest import problem_of, slug


class TestMissingAndMalformedKeys:
    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "Bearer",
            "Bearer ",
            "Basic dXNlcjpwYXNz",
            "Bearer not-a-key",
            "Bearer ipk_short_x",
            "Bearer ipk_" + "z" * 32 + "_secret",
            "Bearer ipk_" + "0" * 32 + "_secret",
            "Bearer ipk_" + "0" * 32,
        ],
    )
    async def test_is_401_problem(self, client, header):
        headers = {} if header is None else {"Authorization": header}
        response = await client.get("/v1/api-keys", headers=headers)
        assert response.status_code == 401
        assert slug(response) == "unauthenticated"

    async def test_right_id_wrong_secret_is_401(self, client, make_key):
        admin = await make_key("admin")
        token = admin["Authorization"].removeprefix("Bearer ")
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        response = await client.get("/v1/api-keys", headers={"Authorization": f"Bearer {tampered}"})
        assert response.status_code == 401

    async def test_scheme_is_case_insensitive(self, client, make_key):
        admin = await make_key("admin")
        token = admin["Authorization"].removeprefix("Bearer ")
        response = await client.get("/v1/api-keys", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


class TestRoles:
    @pytest.mark.parametrize(
        "role,subject",
        [
            ("bank_system", None),
            ("relationship_manager", "RM001"),
            ("credit_officer", None),
            ("district_bureau", "440307"),
            ("securitization", None),
        ],
    )
    async def test_non_admin_roles_are_403_on_admin_endpoints(
        self, client, make_key, role, subject
    ):
        headers = await make_key(role, subject)
        for method, path in [("GET", "/v1/api-keys"), ("GET", "/v1/audit-events")]:
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 403, (role, path)
            assert slug(response) == "forbidden"
        response = await client.post("/v1/api-keys", json={"role": "admin"}, headers=headers)
        assert response.status_code == 403

    async def test_forbidden_write_changes_nothing(self, client, make_key, conn):
        officer = await make_key("credit_officer")
        before = await conn.fetchval("SELECT count(*) FROM api_keys")
        response = await client.post("/v1/api-keys", json={"role": "admin"}, headers=officer)
        assert response.status_code == 403
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == before


class TestIssuingKeys:
    async def test_key_is_shown_once_and_stored_as_hash(self, client, make_key, conn):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys",
            json={"role": "relationship_manager", "subject": "RM-7", "name": "ops"},
            headers=admin,
        )
        assert response.status_code == 201
        created = response.json()
        key = created["key"]
        assert created["role"] == "relationship_manager" and created["subject"] == "RM-7"
        row = await conn.fetchrow("SELECT * FROM api_keys WHERE id = $1::uuid", created["id"])
        secret = key[len("ipk_") + 32 + 1 :]  # the secret itself may contain "_"
        assert bytes(row["secret_hash"]) == hashlib.sha256(secret.encode()).digest()
        assert key not in str(dict(row))
        listed = await client.get("/v1/api-keys", headers=admin)
        assert listed.status_code == 200
        assert all("key" not in item for item in listed.json()["items"])
        assert created["id"] in [item["id"] for item in listed.json()["items"]]
        # The new key works, with its own role.
        rm = {"Authorization": f"Bearer {key}"}
        assert (await client.get("/v1/api-keys", headers=rm)).status_code == 403

    @pytest.mark.parametrize(
        "body",
        [
            {"role": "relationship_manager"},
            {"role": "district_bureau"},
            {"role": "district_bureau", "subject": "440399"},
            {"role": "credit_officer", "subject": "RM1"},
            {"role": "relationship_manager", "subject": "bad id with spaces"},
            {"role": "superuser"},
        ],
    )
    async def test_bad_role_or_subject_is_422(self, client, make_key, body):
        admin = await make_key("admin")
        response = await client.post("/v1/api-keys", json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert problem_of(response)["errors"]

    async def test_revoked_key_is_refused_at_once(self, client, make_key):
        admin = await make_key("admin")
        other = await make_key("admin")
        # The other key works (and is now cached by this process)…
        assert (await client.get("/v1/api-keys", headers=other)).status_code == 200
        response = await client.post(f"/v1/api-keys/{other['X-Key-Id']}/revoke", headers=admin)
        assert response.status_code == 200
        assert response.json()["revoked_at"] is not None
        # …and is refused from the next request on.
        assert (await client.get("/v1/api-keys", headers=other)).status_code == 401

    async def test_the_cache_loads_a_live_key_as_the_keys_domain_hands_it_out(
        self, client, make_key, ctx
    ):
        from app.core import auth
        from app.keys.service import load_live_key

        admin = await make_key("admin")
        bureau = await make_key("district_bureau", "440307")
        key_id = UUID(bureau["X-Key-Id"])
        secret = bureau["Authorization"].removeprefix("Bearer ").split("_", 2)[2]
        assert await load_live_key(ctx.db, key_id) == LiveKey(
            role="district_bureau", subject="440307", secret_hash=auth.hash_secret(secret)
        )
        await client.post(f"/v1/api-keys/{key_id}/revoke", headers=admin)
        assert await load_live_key(ctx.db, key_id) is None
        assert await load_live_key(ctx.db, uuid4()) is None

    async def test_revoking_unknown_key_is_404(self, client, make_key):
        admin = await make_key("admin")
        for key_id in ["0190a0a0-0000-7000-8000-000000000000", "not-a-uuid"]:
            response = await client.post(f"/v1/api-keys/{key_id}/revoke", headers=admin)
            assert response.status_code == 404
            assert slug(response) == "not-found"


class TestEveryOperationHasAnAccessRule:
    def test_route_without_rule_refuses_to_start(self):
        router = ApiRouter(prefix="/v1/things")

        with pytest.raises(RuntimeError, match="access rule"):

            @router.get("")
            async def list_things() -> list:
                return []

    def test_every_mounted_v1_route_declares_roles(self, app: FastAPI):
        mounted = (context.original_route for context in iter_route_contexts(app.routes))
        routes = [r for r in mounted if getattr(r, "path", "").startswith("/v1")]
        assert routes
        for route in routes:
            assert route.access.public is False, route.path
            assert route.access.roles, route.path


class TestKeyCache:
    """The cache in front of the key table, on a loader the test holds."""

    TTL = 0.05

    def _cache(self, rows):
        from app.core import auth

        release = asyncio.Event()
        loads = []

        async def load(key_id):
            loads.append(key_id)
            await release.wait()
            return rows[key_id]

        return auth.KeyCache(load, ttl_s=self.TTL), release, loads

    async def test_an_aged_out_key_is_served_while_one_request_reloads_it(self):
        key = uuid4()
        cache, release, loads = self._cache({key: LiveKey("admin", None, b"h")})
        release.set()
        assert await cache._row(key) == LiveKey("admin", None, b"h")
        await asyncio.sleep(self.TTL * 2)  # aged out
        release.clear()
        reloading = asyncio.create_task(cache._row(key))
        await asyncio.sleep(0)
        try:
            # Others neither wait for the reload nor start one of their own.
            assert await asyncio.wait_for(cache._row(key), timeout=1) == LiveKey(
                "admin", None, b"h"
            )
            assert len(loads) == 2
        finally:
            release.set()
        assert await reloading == LiveKey("admin", None, b"h")

    async def test_a_forgotten_key_waits_for_its_load(self):
        key = uuid4()
        cache, release, loads = self._cache({key: LiveKey("admin", None, b"h")})
        release.set()
        assert await cache._row(key) == LiveKey("admin", None, b"h")
        cache.forget(key)  # as a revocation notice does
        release.clear()
        first = asyncio.create_task(cache._row(key))
        await asyncio.sleep(0)
        second = asyncio.create_task(cache._row(key))
        await asyncio.sleep(0.05)
        assert not second.done()  # nothing to serve meanwhile: it waits for the one load
        release.set()
        assert await first == await second == LiveKey("admin", None, b"h")
        assert len(loads) == 2


class TestKeyCacheBounds:
    """A flood of made-up keys costs bounded memory: the cache keeps at most its limit of
    entries, least recently used leaving first."""

    @staticmethod
    def _unknown_key() -> str:
        from app.core import auth

        return auth.format_key(uuid4(), "not-a-secret")

    async def _flood(self, cache, count: int) -> None:
        from app.core.errors import Unauthenticated

        for _ in range(count):
            with pytest.raises(Unauthenticated):
                await cache.authenticate(f"Bearer {self._unknown_key()}")

    async def test_twenty_thousand_unknown_keys_grow_memory_by_less_than_a_megabyte(self):
        import gc
        import tracemalloc

        from app.core import auth

        async def load(key_id):
            return None  # nobody's key

        cache = auth.KeyCache(load, ttl_s=30.0)
        assert auth.DEFAULT_MAX_ENTRIES == 10_000
        tracemalloc.start()
        try:
            await self._flood(cache, auth.DEFAULT_MAX_ENTRIES)  # warm-up: the cache is full
            gc.collect()
            before, _ = tracemalloc.get_traced_memory()
            await self._flood(cache, 20_000)
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(cache) <= auth.DEFAULT_MAX_ENTRIES
        # An entry costs a few hundred bytes: 20,000 more unbounded would be several MB.
        assert after - before < 1_000_000, after - before

    async def test_the_least_recently_used_key_leaves_first(self):
        from app.core import auth

        known = uuid4()
        loads = []

        async def load(key_id):
            loads.append(key_id)
            return LiveKey("admin", None, auth.hash_secret("s")) if key_id == known else None

        cache = auth.KeyCache(load, ttl_s=30.0, max_entries=3)
        token = f"Bearer {auth.format_key(known, 's')}"
        await cache.authenticate(token)
        await self._flood(cache, 2)
        await cache.authenticate(token)  # used again: now the most recent
        await self._flood(cache, 2)  # two unknown keys push out the two oldest unknown ones
        assert len(cache) == 3
        await cache.authenticate(token)
        assert loads.count(known) == 1  # never evicted, never reloaded

    async def test_an_unknown_key_is_remembered_for_seconds_only(self, monkeypatch):
        from app.core import auth
        from app.core.errors import Unauthenticated

        loads = []

        async def load(key_id):
            loads.append(key_id)
            return None

        cache = auth.KeyCache(load, ttl_s=300.0)
        token = f"Bearer {self._unknown_key()}"
        now = [1000.0]
        monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
        for step in (0.0, 1.0, auth._NEGATIVE_TTL_S + 0.5):
            now[0] += step
            with pytest.raises(Unauthenticated):
                await cache.authenticate(token)
        assert len(loads) == 2  # cached for a second, loaded again after the negative TTL
