"""Securitisation pools: the pool, its loans with their facts at the cut-off (one pool a
loan, by primary key), the loan's securitisation date, and an index to find the repayments
dated after a cut-off.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:50:56.904701
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("cut_off_date", sa.Date(), nullable=False),
        sa.Column("target_balance", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("max_obligor_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("max_industry_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("max_district_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("last_selection", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("spv_name", sa.Text(), nullable=True),
        sa.Column("transfer_date", sa.Date(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("(state = 'open') = (locked_at IS NULL)", name=op.f("ck_pools_locked")),
        sa.CheckConstraint(
            "(state = 'transferred') = (spv_name IS NOT NULL AND transfer_date IS NOT NULL)",
            name=op.f("ck_pools_transfer"),
        ),
        sa.CheckConstraint(
            "state IN ('open', 'locked', 'transferred')", name=op.f("ck_pools_state")
        ),
        sa.CheckConstraint(
            "max_obligor_share > 0 AND max_obligor_share <= 1 AND max_industry_share > 0 AND max_industry_share <= 1 AND max_district_share > 0 AND max_district_share <= 1",
            name=op.f("ck_pools_shares"),
        ),
        sa.CheckConstraint("target_balance > 0", name=op.f("ck_pools_target_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
    )
    op.create_index("ix_pools_state_id", "pools", ["state", "id"], unique=False)
    op.create_table(
        "pool_loans",
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("pool_id", sa.UUID(), nullable=False),
        sa.Column("enterprise_id", sa.UUID(), nullable=False),
        sa.Column("industry", sa.Text(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("cut_off_balance", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("remaining_months", sa.SmallInteger(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("pledged_value", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cut_off_balance > 0", name=op.f("ck_pool_loans_cut_off_balance_positive")
        ),
        sa.CheckConstraint("pledged_value >= 0", name=op.f("ck_pool_loans_pledged_value")),
        sa.CheckConstraint(
            "remaining_months >= 0 AND days_past_due >= 0", name=op.f("ck_pool_loans_terms")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_pool_loans_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_pool_loans_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_loans_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_pool_loans")),
    )
    op.create_index(
        "ix_pool_loans_pool_id_loan_id", "pool_loans", ["pool_id", "loan_id"], unique=False
    )
    op.create_index("ix_loan_repayments_paid_on", "loan_repayments", ["paid_on"], unique=False)
    op.add_column("loans", sa.Column("securitized_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("loans", "securitized_on")
    op.drop_index("ix_loan_repayments_paid_on", table_name="loan_repayments")
    op.drop_index("ix_pool_loans_pool_id_loan_id", table_name="pool_loans")
    op.drop_table("pool_loans")
    op.drop_index("ix_pools_state_id", table_name="pools")
    op.drop_table("pools")
