"""Alembic, driven from code: ``ipledge migrate``, the test set-up and ``/readyz`` use it.

Migrations follow expand/contract (docs/operations.md): each migration module may declare
``compatible_with``, the oldest code revision that still works on the schema it leaves. After
every upgrade or downgrade the environment (``migrations/env.py``) records that in the
``schema_compatibility`` table, so code that does not know a newer revision can still tell
whether the schema it finds is one it may serve (``app.ops.schema``).
"""

from __future__ import annotations

import asyncio
import os
import time
from functools import lru_cache
from pathlib import Path

import asyncpg
import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from app.config import PROJECT_ROOT

MIGRATIONS = Path(os.environ.get("IPLEDGE_MIGRATIONS_DIR") or PROJECT_ROOT / "migrations")
COMPATIBILITY_TABLE = "schema_compatibility"

log = structlog.get_logger("ipledge.migrate")


def alembic_config(
    url: str | None = None, *, directory: Path | None = None, lock_timeout_ms: int | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(directory or MIGRATIONS))
    if url is not None:
        config.attributes["database_url"] = url
    if lock_timeout_ms is not None:
        config.attributes["lock_timeout_ms"] = lock_timeout_ms
    return config


@lru_cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@lru_cache
def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, not {heads}")
    return heads[0]


@lru_cache
def known_revisions() -> tuple[str, ...]:
    """Every revision this code knows, oldest first."""
    chain = [script.revision for script in script_directory().walk_revisions()]
    return tuple(reversed(chain))


def oldest_compatible(script_dir: ScriptDirectory, revision: str) -> str:
    """The oldest code revision that works on the schema ``revision`` leaves: its module's
    ``compatible_with``, or the revision itself (a migration that says nothing is taken to
    need its own code)."""
    module = script_dir.get_revision(revision).module
    return str(getattr(module, "compatible_with", revision))


def upgrade(
    url: str,
    revision: str = "head",
    *,
    directory: Path | None = None,
    lock_timeout_ms: int | None = None,
) -> None:
    config = alembic_config(url, directory=directory, lock_timeout_ms=lock_timeout_ms)
    command.upgrade(config, revision)


def downgrade(url: str, revision: str, *, directory: Path | None = None) -> None:
    command.downgrade(alembic_config(url, directory=directory), revision)


def _lock_timed_out(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, asyncpg.exceptions.LockNotAvailableError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


# What a connection that never opened raises: the server is away, or it refused this database
# or these credentials. Nothing a traceback would explain better than its message.
_CONNECT_ERRORS = (
    OSError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def why_not_run(exc: BaseException) -> str | None:
    """One line for ``ipledge migrate`` when the migrations could not run for a reason the
    operator acts on outside the code (no database, or a lock held throughout every attempt);
    None for anything else, whose traceback is wanted."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, asyncpg.exceptions.LockNotAvailableError):
            return (
                "a migration gave up waiting for a lock at every attempt: find the holder in "
                "pg_stat_activity (docs/operations.md), then run ipledge migrate again"
            )
        cause = cause.__cause__ or cause.__context__
    return unreachable(exc)


def unreachable(exc: BaseException) -> str | None:
    """One line when ``exc`` (or what caused it) is the database not answering or refusing the
    connection: what every command run against it says instead of a traceback."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _CONNECT_ERRORS):
            return f"database not reachable: {type(cause).__name__}: {cause}"
        cause = cause.__cause__ or cause.__context__
    return None


def upgrade_with_retries(
    url: str,
    revision: str = "head",
    *,
    attempts: int = 5,
    pause_s: float = 5.0,
    directory: Path | None = None,
    lock_timeout_ms: int | None = None,
) -> int:
    """Upgrade; when a migration gives up waiting for a lock (``lock_timeout``: traffic held
    the table), it rolled back alone and is tried again after a pause. Returns the attempts
    it took."""
    for attempt in range(1, attempts + 1):
        try:
            upgrade(url, revision, directory=directory, lock_timeout_ms=lock_timeout_ms)
            return attempt
        except DBAPIError as exc:
            if not _lock_timed_out(exc) or attempt == attempts:
                raise
            log.warning("migration waited too long for a lock; retrying", attempt=attempt)
            time.sleep(pause_s * attempt)
    raise AssertionError("unreachable")


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
