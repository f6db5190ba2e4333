"""What a process needs to work: settings, the database, the clock. The API, the worker and the
command line each build one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.config import Settings, get_settings
from app.core import outbox
from app.core.clock import Clock, SystemClock
from app.core.context import Ctx, Principal
from app.core.db import CONNECTION_ERRORS, Database, build_engine
from app.core.ids import uuid7
from app.core.logging import redact_url


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from app.core import embedded

    return embedded.start(settings.var_dir)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    clock: Clock = field(default_factory=SystemClock)
    owns_database: bool = True

    @classmethod
    def create(cls, settings: Settings | None = None, *, pool_size: int | None = None) -> Runtime:
        settings = settings or get_settings()
        url = resolve_database_url(settings)
        return cls(
            settings=settings,
            database=Database.for_settings(
                build_engine(url, settings, pool_size=pool_size), settings
            ),
        )

    def log_failure(self, log: Any, event: str, exc: Exception, **fields: str) -> None:
        """A background pass that failed. When the database is unreachable, its traceback says
        no more than its type, and every pass until the database is back would repeat it: one
        line naming the error and the database (without its password)."""
        if isinstance(exc, CONNECTION_ERRORS):
            url = self.settings.database_url
            where = redact_url(url.get_secret_value()) if url is not None else "embedded"
            log.error(event, error=type(exc).__name__, database=where, **fields)
        else:
            log.error(event, error=type(exc).__name__, exc_info=exc, **fields)

    async def close(self) -> None:
        if self.owns_database:
            await self.database.dispose()

    @asynccontextmanager
    async def unit_of_work(self, principal: Principal, *, label: str = "job") -> AsyncIterator[Ctx]:
        """A job's transaction: commits with its audit entries and events, or not at all."""
        async with self.database.connection() as db, db.transaction():
            ctx = Ctx(
                db=db,
                principal=principal,
                now=self.clock.now(),
                settings=self.settings,
                request_id=f"{label}-{uuid7().hex[:12]}",
            )
            yield ctx
            await outbox.flush(ctx)
