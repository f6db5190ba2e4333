"""The pool after a database restart or failover, and a database that stops answering.

- Every server connection terminated (what a restart or a failover does to a pool): the next
  requests all succeed, none fails on a dead pooled connection.
- A database that freezes (no answer, no reset: a hung host, a network partition): requests
  are answered 503 within the client's own bound, not held for as long as it stays frozen,
  and work again once it answers.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
from sqlalchemy.engine import make_url

from app import migrate
from app.core.db import libpq_url
from tests.conftest import _issue_key, problem_of
from tests.ops.conftest import app_client


async def _admin_key(http) -> dict[str, str]:
    runtime = http.runtime
    async with runtime.database.connection() as db, db.transaction():
        return await _issue_key(db, runtime.settings, runtime.clock, "admin", None)


async def test_requests_after_every_backend_is_terminated_all_succeed(scratch_database):
    url = scratch_database("restart")
    await asyncio.to_thread(migrate.upgrade, url)
    name = make_url(url).database
    async with app_client(url) as http:
        admin = await _admin_key(http)
        # Every pooled connection in use once, so the pool holds four live ones.
        warm = await asyncio.gather(*(http.get("/v1/api-keys", headers=admin) for _ in range(8)))
        assert {r.status_code for r in warm} == {200}
        assert http.runtime.database.engine.pool.checkedin() >= 2

        killer = await asyncpg.connect(libpq_url(url))
        try:
            terminated = await killer.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = $1 AND pid <> pg_backend_pid()""",
                name,
            )
        finally:
            await killer.close()
        assert terminated >= 2
        await asyncio.sleep(0.2)

        one_by_one = [await http.get("/v1/api-keys", headers=admin) for _ in range(6)]
        together = await asyncio.gather(
            *(http.get("/v1/api-keys", headers=admin) for _ in range(8))
        )
    statuses = [r.status_code for r in (*one_by_one, *together)]
    assert statuses == [200] * 14, [
        r.text for r in (*one_by_one, *together) if r.status_code != 200
    ]


class FreezableProxy:
    """A TCP proxy to PostgreSQL that can stop passing bytes on (a frozen server). The server
    is reached over TCP, or through its Unix socket when the URL names a socket directory (the
    embedded server's)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.port = parsed.port or 5432
        socket_dir = parsed.query.get("host")
        self.socket = f"{socket_dir}/.s.PGSQL.{self.port}" if isinstance(socket_dir, str) else None
        self.host = parsed.host or "127.0.0.1"
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.thawed.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.socket is not None:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket)
        else:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def close(self) -> None:
        self.thawed.set()
        if self.server is not None:
            self.server.close()


async def test_a_frozen_database_gets_a_prompt_503_not_a_hang(scratch_database):
    url = scratch_database("frozen")
    await asyncio.to_thread(migrate.upgrade, url)
    proxy = FreezableProxy(url)
    port = await proxy.start()
    parsed = make_url(url)
    proxied = parsed.set(
        host="127.0.0.1", port=port, query={k: v for k, v in parsed.query.items() if k != "host"}
    ).render_as_string(False)
    try:
        async with app_client(
            proxied, db_command_timeout_s=1.0, db_connect_timeout_s=1.0, db_pool_timeout_s=1.0
        ) as http:
            admin = await _admin_key(http)
            assert (await http.get("/v1/api-keys", headers=admin)).status_code == 200

            proxy.thawed.clear()
            started = time.monotonic()
            frozen = await asyncio.wait_for(http.get("/v1/api-keys", headers=admin), timeout=10)
            waited = time.monotonic() - started
            assert frozen.status_code == 503, frozen.text
            problem_of(frozen)
            assert waited < 3.0

            proxy.thawed.set()
            again = await http.get("/v1/api-keys", headers=admin)
            assert again.status_code == 200, again.text
    finally:
        await proxy.close()
