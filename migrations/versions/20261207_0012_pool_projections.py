"""Pool cash-flow projections: each projection of a pool, with its scenario, structure, the
pool's facts it was run on, its answer and the senior tranche's break-even CDR; and each locked
pool's schedule after its cut-off, frozen at the lock (filled here for the pools already locked
or transferred) so that later postings on its loans never change its projections.

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

    op.create_table(
        "pool_schedules",
        sa.Column("pool_id", sa.UUID(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("interest", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_pool_schedules_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("pool_id", "due_date", name=op.f("pk_pool_schedules")),
    )
    op.execute(_FREEZE_LOCKED)
    # Every stored date lies within what a caller may send (revision 0009's rule).
    for table, column in (("pool_projections", "cut_off_date"), ("pool_schedules", "due_date")):
        op.create_check_constraint(
            op.f(f"ck_{table}_{column}_in_range"),
            table,
            f"{column} BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
        )


# The schedule of every pool already locked or transferred, as a lock now keeps it: each
# member's instalments due after the cut-off less what had been paid on them by the cut-off
# (repayments dated later undone), each member's last instalment squared with its cut-off
# balance, summed by due date.
_FREEZE_LOCKED = """
WITH frozen AS (SELECT id AS pool_id, cut_off_date AS cut_off FROM pools WHERE state <> 'open'),
later AS (
    SELECT f.pool_id, i.loan_id, i.due_date, sum((x->>'principal')::numeric) AS principal,
           sum((x->>'interest')::numeric) AS interest
    FROM frozen f
    JOIN pool_loans m ON m.pool_id = f.pool_id
    JOIN loan_repayments r ON r.loan_id = m.loan_id AND r.paid_on > f.cut_off
    CROSS JOIN LATERAL jsonb_array_elements(r.allocation) AS x
    JOIN loan_installments i ON i.loan_id = r.loan_id AND i.seq = (x->>'seq')::int
    WHERE i.due_date > f.cut_off
    GROUP BY 1, 2, 3
),
per_loan AS (
    SELECT f.pool_id, i.loan_id, sum(i.principal - i.paid_principal) AS principal,
           max(i.due_date) AS last_due
    FROM frozen f
    JOIN pool_loans m ON m.pool_id = f.pool_id
    JOIN loan_installments i ON i.loan_id = m.loan_id AND i.due_date > f.cut_off
    GROUP BY 1, 2
),
parts AS (
    SELECT f.pool_id, i.due_date, i.principal - i.paid_principal AS principal,
           i.interest - i.paid_interest AS interest
    FROM frozen f
    JOIN pool_loans m ON m.pool_id = f.pool_id
    JOIN loan_installments i ON i.loan_id = m.loan_id AND i.due_date > f.cut_off
    UNION ALL
    SELECT pool_id, due_date, principal, interest FROM later
    UNION ALL
    SELECT p.pool_id, p.last_due, m.cut_off_balance - p.principal - coalesce(l.principal, 0), 0
    FROM per_loan p
    JOIN pool_loans m ON m.loan_id = p.loan_id
    LEFT JOIN (SELECT loan_id, sum(principal) AS principal FROM later GROUP BY 1) l
        ON l.loan_id = p.loan_id
)
INSERT INTO pool_schedules (pool_id, due_date, principal, interest)
SELECT pool_id, due_date, sum(principal), sum(interest) FROM parts GROUP BY 1, 2
HAVING sum(principal) <> 0 OR sum(interest) <> 0"""


def downgrade() -> None:
    op.drop_table("pool_schedules")
    op.drop_index("ix_pool_projections_pool_id_id", table_name="pool_projections")
    op.drop_table("pool_projections")
