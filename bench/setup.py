"""The benchmark's own database: recreated for each run, migrated, seeded at realistic size."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from app import migrate
from app.config import PROJECT_ROOT, Settings
from app.core import outbox
from app.core.context import OPERATOR, Ctx
from app.core.db import Database, async_url, build_engine, libpq_url
from app.core.roles import Role
from app.keys import service as keys_service

T = TypeVar("T")
BENCH_DB = "ipledge_bench"


@dataclass
class BenchDatabase:
    server_url: str
    name: str = os.environ.get("IPLEDGE_BENCH_DATABASE_NAME", BENCH_DB)

    @classmethod
    def create(cls) -> BenchDatabase:
        url = os.environ.get("IPLEDGE_BENCH_DATABASE_URL") or os.environ.get(
            "IPLEDGE_TEST_DATABASE_URL"
        )
        if not url:
            from app.core import embedded

            url = embedded.start(PROJECT_ROOT / "var", database="postgres")
        return cls(server_url=url)

    @property
    def async_url(self) -> str:
        return async_url(make_url(self.server_url).set(database=self.name).render_as_string(False))

    @property
    def libpq_url(self) -> str:
        return libpq_url(self.async_url)

    @property
    def display(self) -> str:
        return make_url(self.async_url).render_as_string(hide_password=True)

    def _admin_url(self) -> str:
        return libpq_url(make_url(self.server_url).set(database="postgres").render_as_string(False))

    async def prepare(self) -> None:
        admin = await asyncpg.connect(self._admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        await asyncio.to_thread(migrate.upgrade, self.async_url)
        conn = await asyncpg.connect(self.libpq_url)
        try:
            await conn.execute(
                """CREATE TABLE bench_floor (id bigserial PRIMARY KEY, name text NOT NULL,
                   amount numeric(20, 2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"""
            )
            await conn.execute(
                """INSERT INTO bench_floor (name, amount)
                   SELECT 'seed-' || g, (g % 100000)::numeric / 100
                   FROM generate_series(1, 100000) g"""
            )
            await conn.execute("ANALYZE bench_floor")
        finally:
            await conn.close()

    async def drop(self) -> None:
        admin = await asyncpg.connect(self._admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def require_connections(self, needed: int) -> None:
        """Fail early, and say why, when the server admits fewer than ``needed`` clients."""
        conn = await asyncpg.connect(self.libpq_url)
        try:
            allowed = int(await conn.fetchval("SHOW max_connections"))
        finally:
            await conn.close()
        if allowed < needed:
            raise SystemExit(
                f"the bench needs {needed} connections at once and the server allows "
                f"{allowed} (max_connections): lower --pool, or raise max_connections"
            )

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a set-up or measurement function with a ``BenchSession``."""
        settings = Settings(database_url=self.async_url)
        engine = build_engine(self.async_url, settings, pool_size=4)
        try:
            session = BenchSession(db=self, database=Database(engine), settings=settings)
            return await fn(session, *args)
        finally:
            await engine.dispose()


@dataclass
class BenchSession:
    db: BenchDatabase
    database: Database
    settings: Settings

    async def key(self, role: Role, subject: str | None = None) -> str:
        from datetime import UTC, datetime

        async with self.database.connection() as db, db.transaction():
            ctx = Ctx(
                db=db,
                principal=OPERATOR,
                now=datetime.now(UTC),
                settings=self.settings,
                request_id="bench",
            )
            created = await keys_service.create_key(ctx, role=role, subject=subject, name="bench")
            await outbox.flush(ctx)
        return created.key
