"""Operations: the schema compatibility record that readiness reads, and the index retention
needs.

``schema_compatibility`` holds, for each revision a database was migrated to, the oldest code
revision that still works on it (written after every step by the migration environment).

``ix_webhook_attempts_event_id_endpoint_id``: the retention job deletes attempts by event (ids
are UUIDv7, so "events older than the window" is a range), and deleting a delivery checks its
attempts through this foreign key; without the index both scan the whole table. It is built
CONCURRENTLY (writes go on meanwhile), outside the migration's transaction; a build that gave
up (lock_timeout) leaves an invalid index, which the next run drops first.

``audit_events.actor_signed_in_as``: the person the bank's identity provider signed in, for a
change made with a bearer token (null for an API key); nullable with no default, so adding it
rewrites nothing.

Only additions: the code of 0012 works on this schema (``compatible_with``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# The oldest code revision that works on the schema this migration leaves (expand/contract:
# docs/operations.md).
compatible_with = "0012"


ATTEMPTS_INDEX = "ix_webhook_attempts_event_id_endpoint_id"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {ATTEMPTS_INDEX}")
        op.create_index(
            ATTEMPTS_INDEX,
            "webhook_attempts",
            ["event_id", "endpoint_id"],
            postgresql_concurrently=True,
        )
    op.create_table(
        "schema_compatibility",
        sa.Column("revision", sa.Text(), nullable=False),
        sa.Column("oldest_compatible_revision", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("revision", name="pk_schema_compatibility"),
    )
    op.add_column("audit_events", sa.Column("actor_signed_in_as", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_events", "actor_signed_in_as")
    op.drop_table("schema_compatibility")
    with op.get_context().autocommit_block():
        op.drop_index(ATTEMPTS_INDEX, "webhook_attempts", postgresql_concurrently=True)
