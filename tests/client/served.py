"""``ipledge serve`` in a process of its own, on a database of its own, for tests that use the
service as its callers do: over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app import migrate
from app.core.db import libpq_url


def fresh_database(database_url: str, suffix: str) -> str:
    """``<test database>_<suffix>``, dropped, created and migrated; its data is committed."""
    url = make_url(database_url)
    name = f"{url.database}_{suffix}"
    admin = libpq_url(url.set(database="postgres").render_as_string(False))

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    fresh = url.set(database=name).render_as_string(False)
    migrate.upgrade(fresh)
    return fresh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Settings a developer's shell may carry, which would make a test's service unlike the default.
_CLEARED = (
    "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE",
    "IPLEDGE_MAX_BACKDATE_DAYS",
    "IPLEDGE_OIDC_ISSUER",
    "IPLEDGE_OIDC_AUDIENCE",
)


@contextmanager
def served(database_url: str | None, **settings: str) -> Iterator[str]:
    """``ipledge serve`` with ``settings`` as IPLEDGE_ variables; its base URL. With no
    database URL it runs in the embedded mode, as ``make run`` does on a fresh clone."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(IPLEDGE_LOG_LEVEL="WARNING", IPLEDGE_ACCESS_LOG="false")
    env.pop("IPLEDGE_DATABASE_URL", None)
    if database_url is not None:
        env["IPLEDGE_DATABASE_URL"] = database_url
    env.update({f"IPLEDGE_{k.upper()}": v for k, v in settings.items()})
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while not _ready(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"the service did not start: {log.read()}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def admin_key(database_url: str) -> str:
    """A new admin key, made as an operator makes one: ``ipledge keys create``."""
    env = {**os.environ, "IPLEDGE_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "--role", "admin", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return str(json.loads(done.stdout)["key"])


def stop_embedded_server(var_dir: Path) -> None:
    """Stop the embedded PostgreSQL under ``var_dir`` by its pid, if it still runs: the
    service stops it as it exits, and this is for a test that failed before it could."""
    pid_file = var_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)  # fast shutdown
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
