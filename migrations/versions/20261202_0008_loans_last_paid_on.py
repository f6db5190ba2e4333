"""The value date of a loan's latest repayment, kept on the loan: a posting checks that its own
date is not earlier, and reading it from the loan row costs nothing, where the newest of the
loan's repayments cost an index scan that grew with the book.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("loans", sa.Column("last_paid_on", sa.Date(), nullable=True))
    op.execute(
        """UPDATE loans l SET last_paid_on = r.last_paid_on
           FROM (SELECT loan_id, max(paid_on) AS last_paid_on FROM loan_repayments
                 GROUP BY loan_id) r
           WHERE r.loan_id = l.id"""
    )


def downgrade() -> None:
    op.drop_column("loans", "last_paid_on")
