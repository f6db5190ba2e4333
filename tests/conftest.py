"""Tests run on real PostgreSQL.

The database is created fresh for each run and migrated once. Most tests run inside one
transaction that is rolled back at the end (``client``): every request of the test goes through
that one connection, so tests never see each other's data. Tests of concurrency need real
commits and real parallel connections (``live_client``); their data stays in the run's database
and they create their own (fresh enterprises, keys…) so as not to depend on anyone else's.

``IPLEDGE_TEST_DATABASE_URL`` names the server and database to use (the database is dropped and
recreated); without it the embedded PostgreSQL under var/ is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app import migrate
from app.config import Settings
from app.core.clock import FixedClock
from app.core.context import OPERATOR, Ctx
from app.core.db import Database, Db, build_engine, libpq_url
from app.core.roles import Role
from app.core.runtime import Runtime
from app.keys import service as keys_service
from app.main import attach, create_app

TEST_DB_NAME = "ipledge_test"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that commit run after all the others, in their own order. Every rolled-back test
    then sees a database holding only what it made itself, which tests of figures over the
    whole book (reports, pool selection) need to be exact."""
    items.sort(key=lambda item: item.get_closest_marker("committed") is not None)


def _test_server_url() -> str:
    url = os.environ.get("IPLEDGE_TEST_DATABASE_URL")
    if url:
        return url
    from app.config import PROJECT_ROOT
    from app.core import embedded

    return embedded.start(PROJECT_ROOT / "var", database="postgres")


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "postgresql://unused",  # the runtime below carries the real engine
        "webhooks_allow_private": True,
        "access_log": False,
        "key_cache_ttl_s": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def database_url() -> str:
    server = _test_server_url()
    name = os.environ.get("IPLEDGE_TEST_DATABASE_NAME") or TEST_DB_NAME
    if "IPLEDGE_TEST_DATABASE_URL" in os.environ:
        from sqlalchemy.engine import make_url

        name = make_url(server).database or name
        if name in ("postgres", "template1"):
            name = TEST_DB_NAME

    async def recreate() -> None:
        admin = await asyncpg.connect(libpq_url(_with_database(server, "postgres")))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(recreate())
    url = _with_database(server, name)
    migrate.upgrade(url)
    return url


@pytest.fixture(autouse=True)
def fresh_calendar_cache():
    """The working-day index is cached per process; a test's calendar changes roll back, so
    no test may see another's cached calendar."""
    from app.calendar import service as calendar_service

    calendar_service.invalidate()
    yield
    calendar_service.invalidate()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
async def engine(database_url: str, settings: Settings) -> AsyncIterator[Any]:
    engine = build_engine(database_url, settings, pool_size=24)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def conn(engine: Any) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        connection: asyncpg.Connection = raw.driver_connection
        transaction = connection.transaction()
        await transaction.start()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def runtime(
    engine: Any, conn: asyncpg.Connection, settings: Settings, clock: FixedClock
) -> Runtime:
    database = Database(engine)
    database.bind(conn)
    return Runtime(settings=settings, database=database, clock=clock, owns_database=False)


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings, listen=False)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://ipledge.test")


@pytest.fixture
async def client(app: FastAPI, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    attach(app, runtime)
    async with _client(app) as http:
        yield http


@pytest.fixture
def ctx(runtime: Runtime, conn: asyncpg.Connection, clock: FixedClock) -> Ctx:
    """A service-layer context on the test's connection, acting as the operator."""
    return Ctx(
        db=Db(conn),
        principal=OPERATOR,
        now=clock.now(),
        settings=runtime.settings,
        request_id="test",
    )


KeyFactory = Callable[..., Awaitable[dict[str, str]]]


async def _issue_key(
    db: Db, settings: Settings, clock: FixedClock, role: Role | str, subject: str | None
) -> dict[str, str]:
    from app.core import outbox

    ctx = Ctx(db=db, principal=OPERATOR, now=clock.now(), settings=settings, request_id="test")
    created = await keys_service.create_key(ctx, role=Role(role), subject=subject, name="test")
    await outbox.flush(ctx)
    return {"Authorization": f"Bearer {created.key}", "X-Key-Id": str(created.id)}


@pytest.fixture
def make_key(conn: asyncpg.Connection, settings: Settings, clock: FixedClock) -> KeyFactory:
    """``await make_key("credit_officer")`` → headers carrying a fresh key of that role."""

    async def issue(role: Role | str, subject: str | None = None) -> dict[str, str]:
        return await _issue_key(Db(conn), settings, clock, role, subject)

    return issue


# --- committed mode: real pool, real commits, real concurrency -------------------------------


@pytest.fixture
def live_runtime(engine: Any, settings: Settings, clock: FixedClock) -> Runtime:
    """Committed mode: the pool and, as ``ipledge serve`` has it, the batcher."""
    return Runtime(
        settings=settings,
        database=Database.for_settings(engine, settings),
        clock=clock,
        owns_database=False,
    )


@pytest.fixture
async def live_client(app: FastAPI, live_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    attach(app, live_runtime)
    async with _client(app) as http:
        yield http


@pytest.fixture
def make_live_key(live_runtime: Runtime, settings: Settings, clock: FixedClock) -> KeyFactory:
    async def issue(role: Role | str, subject: str | None = None) -> dict[str, str]:
        async with live_runtime.database.connection() as db, db.transaction():
            return await _issue_key(db, settings, clock, role, subject)

    return issue


@pytest.fixture
async def desk(client, make_key, conn):
    """A bank desk (tests/desk.py) on the rolled-back connection."""
    from tests.desk import make_desk

    return await make_desk(client, make_key, conn)


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem details of an error response, checked for RFC 9457 shape."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].rsplit("/problems/", 1)[1]
    assert body["title"] and isinstance(body["detail"], str)
    return body


def slug(response: httpx.Response) -> str:
    return problem_of(response)["type"].rsplit("/", 1)[1]
