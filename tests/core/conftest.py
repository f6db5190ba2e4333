"""Fixtures shared by the core tests."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.core.db import libpq_url


@pytest.fixture(scope="module")
def scratch_url(request: pytest.FixtureRequest, database_url: str) -> str:
    """An empty database of the module's own (named after it), for tests that migrate it up
    and down: the session's test database stays at head for everyone else."""
    url = make_url(database_url)
    scratch = f"{url.database}_{request.module.__name__.rsplit('.', 1)[-1]}"
    admin = libpq_url(url.set(database="postgres").render_as_string(False))

    async def recreate() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{scratch}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return url.set(database=scratch).render_as_string(False)
