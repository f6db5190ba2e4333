"""Pool members' pledged value: room for the sum of an application's valuations.

``pool_loans.pledged_value`` is the sum of the valuations of a loan's registered pledges. Each
valuation is money (below 10^18, ``Numeric(20, 2)``), and an application pledges up to 50
assets, so the sum reaches 5 × 10^19: a loan whose assets were valued at the top of the range
could not join a pool (numeric overflow, a 500). ``Numeric(22, 2)`` holds any such sum.
Raising a numeric's precision at the same scale rewrites nothing; it only takes the table's
lock for a moment.

Only a widening: the code of 0014 works on this schema (``compatible_with``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
# The oldest code revision that works on the schema this migration leaves (expand/contract:
# docs/operations.md).
compatible_with = "0014"


def upgrade() -> None:
    op.alter_column(
        "pool_loans",
        "pledged_value",
        type_=sa.Numeric(precision=22, scale=2),
        existing_type=sa.Numeric(precision=20, scale=2),
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "pool_loans",
        "pledged_value",
        type_=sa.Numeric(precision=20, scale=2),
        existing_type=sa.Numeric(precision=22, scale=2),
        existing_nullable=False,
    )
