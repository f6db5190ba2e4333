"""Whether this code may serve the schema it finds (``/readyz``).

A release migrates first and rolls out after (expand/contract, docs/operations.md), so the
running code meets three kinds of schema:

- its own head: ready;
- an older revision it knows (the database is behind): not ready, it would need columns or
  tables that are not there yet;
- a revision it does not know (the database is ahead): ready when that revision's recorded
  ``oldest_compatible_revision`` is one this code has reached, else not ready.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from app.core.db import Db
from app.migrate import COMPATIBILITY_TABLE, head_revision, known_revisions


@dataclass(frozen=True, slots=True)
class SchemaState:
    status: str  # ready, ahead (and compatible), behind, incompatible, missing
    revision: str | None
    expected: str
    oldest_compatible: str | None = None

    @property
    def ready(self) -> bool:
        return self.status in ("ready", "ahead")


def judge(
    current: str | None,
    oldest_compatible: str | None,
    *,
    head: str,
    known: tuple[str, ...],
) -> SchemaState:
    """The verdict, from the database's revision and (for an unknown one) its record."""
    if current is None:
        return SchemaState("missing", None, head)
    if current == head:
        return SchemaState("ready", current, head)
    if current in known:
        return SchemaState("behind", current, head)
    if oldest_compatible is not None and oldest_compatible in known:
        # The schema is ahead; its oldest compatible code is this head or older.
        return SchemaState("ahead", current, head, oldest_compatible)
    return SchemaState("incompatible", current, head, oldest_compatible)


async def inspect(db: Db) -> SchemaState:
    """One statement when the schema is the code's own or one it knows; two when it is
    ahead."""
    head, known = head_revision(), known_revisions()
    try:
        current = await db.fetchval("SELECT max(version_num) FROM alembic_version")
    except asyncpg.exceptions.UndefinedTableError:
        current = None
    oldest = None
    if current is not None and current not in known:
        try:
            oldest = await db.fetchval(
                f"SELECT oldest_compatible_revision FROM {COMPATIBILITY_TABLE} WHERE revision = $1",
                current,
            )
        except asyncpg.exceptions.UndefinedTableError:
            oldest = None
    return judge(current, oldest, head=head, known=known)
