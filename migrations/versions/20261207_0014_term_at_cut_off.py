"""A loan's term at a pool's cut-off: ``loan_repayments.installments_before``.

A prepayment that shortens the term, or a payoff, drops instalments from the end of the
schedule. A pool cut off before such a posting must see the loan as it stood at its cut-off
(the instalments still to fall due, the maturity that eligibility measures), as it already
sees the balance; each repayment now records how many instalments the schedule had before it.

Nullable with no default, so adding it rewrites nothing; repayments posted before it hold
null, and a pool reads the schedule as it is for them, as before. Only an addition: the code of
0013 works on this schema (``compatible_with``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
# The oldest code revision that works on the schema this migration leaves (expand/contract:
# docs/operations.md).
compatible_with = "0013"


def upgrade() -> None:
    op.add_column(
        "loan_repayments", sa.Column("installments_before", sa.SmallInteger(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("loan_repayments", "installments_before")
