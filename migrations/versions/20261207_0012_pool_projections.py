"""Pool cash-flow projections: each projection of a pool, with its scenario, structure, the
pool's facts it was run on, its answer and the senior tranche's break-even CDR.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_projections",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("pool_id", sa.UUID(), nullable=False),
        sa.Column("pool_state", sa.Text(), nullable=False),
        sa.Column("cut_off_date", sa.Date(), nullable=False),
        sa.Column("loan_count", sa.Integer(), nullable=False),
        sa.Column("cut_off_balance", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("scenario", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("structure", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("breakeven", sa.Boolean(), nullable=False),
        sa.Column("breakeven_cdr", sa.Numeric(precision=5, scale=4), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "pool_state IN ('open', 'locked', 'transferred')",
            name=op.f("ck_pool_projections_pool_state"),
        ),
        sa.CheckConstraint(
            "cut_off_balance > 0 AND loan_count > 0", name=op.f("ck_pool_projections_pool_facts")
        ),
        sa.CheckConstraint(
            "breakeven_cdr IS NULL OR (breakeven AND breakeven_cdr > 0 AND breakeven_cdr <= 1)",
            name=op.f("ck_pool_projections_breakeven_cdr"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_projections_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_projections")),
    )
    op.create_index(
        "ix_pool_projections_pool_id_id", "pool_projections", ["pool_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_pool_projections_pool_id_id", table_name="pool_projections")
    op.drop_table("pool_projections")
