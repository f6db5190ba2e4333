"""Operations: the schema compatibility record that readiness reads.

``schema_compatibility`` holds, for each revision a database was migrated to, the oldest code
revision that still works on it (written after every step by the migration environment). This
migration only adds a table, so the code of 0012 works on its schema: ``compatible_with``.

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


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("schema_compatibility")
