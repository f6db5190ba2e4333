"""While PostgreSQL is starting up or shutting down it refuses new connections with SQLSTATE
57P03; a request that needs one then gets a 503 problem, not a 500. The server here is a real
socket on 127.0.0.1 that answers every connection as a starting PostgreSQL does. So does a
request that finds every pooled connection busy for the pool's whole timeout."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime

import httpx

from app.core.clock import FixedClock
from app.core.db import Database, build_engine
from app.core.runtime import Runtime
from app.main import attach, create_app
from tests.conftest import make_settings, problem_of

SSL_REQUEST = 80877103


def _error_response() -> bytes:
    fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


async def _starting_postgres(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        length, code = struct.unpack("!ii", await reader.readexactly(8))
        if code == SSL_REQUEST:
            writer.write(b"N")
            await writer.drain()
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            await reader.readexactly(length - 4)
        else:
            await reader.readexactly(length - 8)
        writer.write(_error_response())
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _app_on(engine, settings):
    app = create_app(settings, listen=False)
    attach(
        app,
        Runtime(
            settings=settings,
            database=Database(engine),
            clock=FixedClock(datetime.now(UTC)),
            owns_database=False,
        ),
    )
    return app


async def _get_with_unknown_key(app) -> httpx.Response:
    """An unknown key is looked up in the database: the request needs a connection."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ipledge.test") as http:
        return await http.get(
            "/v1/api-keys", headers={"Authorization": "Bearer ipk_" + "0" * 32 + "_" + "s" * 43}
        )


async def test_a_server_starting_up_answers_503():
    server = await asyncio.start_server(_starting_postgres, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = make_settings()
    engine = build_engine(f"postgresql://postgres@127.0.0.1:{port}/ipledge", settings, pool_size=2)
    app = _app_on(engine, settings)
    try:
        response = await _get_with_unknown_key(app)
        assert response.status_code == 503, response.text
        assert problem_of(response)["type"].endswith("/service-unavailable")
        assert response.headers["retry-after"]
    finally:
        await engine.dispose()
        server.close()
        await server.wait_closed()


async def test_an_exhausted_pool_answers_503(database_url):
    settings = make_settings(db_pool_timeout_s=0.2)
    engine = build_engine(database_url, settings, pool_size=1)
    app = _app_on(engine, settings)
    held = await engine.raw_connection()  # the pool's only connection, busy elsewhere
    try:
        response = await _get_with_unknown_key(app)
        assert response.status_code == 503, response.text
        problem = problem_of(response)
        assert problem["type"].endswith("/service-unavailable")
        assert "no database connection came free" in problem["detail"]
        assert response.headers["retry-after"]
    finally:
        held.close()
        await engine.dispose()
