"""Alembic, driven from code: ``ipledge migrate``, the test set-up and ``/readyz`` use it."""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.config import PROJECT_ROOT

MIGRATIONS = Path(os.environ.get("IPLEDGE_MIGRATIONS_DIR") or PROJECT_ROOT / "migrations")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.attributes["database_url"] = url
    return config


@lru_cache
def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, not {heads}")
    return heads[0]


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
