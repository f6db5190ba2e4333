"""Operations tests: scratch databases of their own (migrated to a chosen revision), real
processes and signals."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT
from app.core.clock import FixedClock
from app.core.db import Database, build_engine, libpq_url
from app.core.runtime import Runtime
from app.main import create_app
from tests.conftest import make_settings

VENV_BIN = Path(sys.executable).parent


def _admin_url(url: str) -> str:
    return libpq_url(make_url(url).set(database="postgres").render_as_string(False))


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[Callable[[str], str]]:
    """``scratch_database("name")``: the URL of a fresh, empty database of that name (derived
    from the run's), dropped after the test."""
    made: list[str] = []
    base = make_url(database_url).database

    def make(suffix: str) -> str:
        name = f"{base}_{suffix}"

        async def recreate() -> None:
            admin = await asyncpg.connect(_admin_url(database_url))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()

        run_sync(recreate)
        made.append(name)
        return make_url(database_url).set(database=name).render_as_string(False)

    yield make

    async def drop() -> None:
        admin = await asyncpg.connect(_admin_url(database_url))
        try:
            for name in made:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    run_sync(drop)


def run_sync(fn: Callable[[], Any]) -> Any:
    """Run a coroutine function to the end from sync or async code (in a thread of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    """A copy of the migrations directory, to which a test adds revisions this code does not
    know (a later release's)."""
    target = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", target)
    return target


@asynccontextmanager
async def app_client(url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process against ``url``, with a real pool and real commits."""
    settings = make_settings(**overrides)
    engine = build_engine(url, settings, pool_size=4)
    runtime = Runtime(
        settings=settings,
        database=Database.for_settings(engine, settings),
        clock=FixedClock(datetime.now(UTC)),
        owns_database=False,
    )
    app = create_app(settings, runtime=runtime, listen=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        # The application's own start-up and shutdown, as a server runs them.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://ipledge.test") as http,
        ):
            http.runtime = runtime  # type: ignore[attr-defined]
            yield http
    finally:
        await runtime.database.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ipledge(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen:
    """``ipledge …`` as a child process, with a clean IPLEDGE_ environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("IPLEDGE_")}
    return subprocess.Popen(
        [str(VENV_BIN / "ipledge"), *args],
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_http(url: str, *, timeout_s: float = 30.0, status: int | None = 200) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if status is None or response.status_code == status:
                return response
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout_s} s ({last})")
