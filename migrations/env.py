"""Alembic environment: async, on the service's own engine settings.

The migration connection never waits long: ``lock_timeout`` makes a migration that cannot take
its lock give up (and roll back alone, one transaction per migration) instead of queueing every
request behind its lock request, and ``statement_timeout`` bounds each statement. ``ipledge
migrate`` retries a migration that gave up on a lock (``app.migrate.upgrade_with_retries``).

After every migration step the oldest code revision that works on the resulting schema is
recorded in ``schema_compatibility`` (see ``app.migrate``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import async_url
from app.migrate import COMPATIBILITY_TABLE, oldest_compatible
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url")
    if url is None:
        from app.config import get_settings
        from app.core.runtime import resolve_database_url

        url = resolve_database_url(get_settings())
    return async_url(url)


def _timeouts() -> dict[str, str]:
    from app.config import get_settings

    settings = get_settings()
    lock_ms = config.attributes.get("lock_timeout_ms", settings.migration_lock_timeout_ms)
    statement_ms = config.attributes.get(
        "statement_timeout_ms", settings.migration_statement_timeout_ms
    )
    return {"lock_timeout": str(int(lock_ms)), "statement_timeout": str(int(statement_ms))}


def _record_compatibility(
    ctx: MigrationContext, step: Any, heads: Iterable[str], run_args: Any
) -> None:
    """In the step's own transaction: which code may serve the schema it leaves."""
    connection = ctx.connection
    assert connection is not None
    if connection.execute(text(f"SELECT to_regclass('{COMPATIBILITY_TABLE}')")).scalar() is None:
        return
    for head in heads:
        connection.execute(
            text(
                f"INSERT INTO {COMPATIBILITY_TABLE} (revision, oldest_compatible_revision) "
                "VALUES (:revision, :oldest) ON CONFLICT (revision) DO UPDATE "
                "SET oldest_compatible_revision = EXCLUDED.oldest_compatible_revision, "
                "recorded_at = now()"
            ),
            {"revision": head, "oldest": oldest_compatible(context.script, head)},
        )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
        transaction_per_migration=True,
        on_version_apply=_record_compatibility,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(
        _url(),
        poolclass=pool.NullPool,
        connect_args={"server_settings": {"application_name": "ipledge-migrate", **_timeouts()}},
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        for name, value in _timeouts().items():
            connection.execute(text(f"SET {name} = {int(value)}"))
        _run(connection)
    else:
        asyncio.run(_run_async())
