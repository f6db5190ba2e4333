"""Subsidy programmes are in force only within their budget year.

Programmes. A programme is in force on a date within its effective period *and* its budget
year (``app.subsidies.in_force``); from now on an effective period must lie within the budget
year, and the ``in_budget_year`` check holds every row to it. Rows stored before are repaired:

- a period that reaches outside the budget year but meets it is clamped to it (from no
  earlier than 1 January, to no later than 31 December of the budget year; an open end stays
  open, which means the year's end). Claims were only ever made on the dates inside the
  budget year, so the dates a programme is in force on do not change: only the pricing
  discount stops being granted on dates no claim could follow;
- a period that lies wholly outside its budget year was never in force and never paid a
  claim, and no clamp can say so. The migration then stops, naming those programmes and
  changing nothing: an operator corrects their budget year or dates (which of the two was
  mistaken is for the district to say), or deletes them, and migrates again.

Downgrading drops the check but keeps the clamped dates: the days cut off were never days
the programme was in force on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_YEAR_START = "make_date(budget_year, 1, 1)"
_YEAR_END = "make_date(budget_year, 12, 31)"

IN_BUDGET_YEAR = (
    "extract(year FROM effective_from) = budget_year "
    "AND (effective_to IS NULL OR extract(year FROM effective_to) = budget_year)"
)


def _refuse_programmes_never_in_force() -> None:
    never = (
        op.get_bind()
        .execute(
            sa.text(
                f"""SELECT id, budget_year, effective_from, effective_to FROM subsidy_programs
                    WHERE greatest(effective_from, {_YEAR_START})
                          > least(coalesce(effective_to, {_YEAR_END}), {_YEAR_END})
                    ORDER BY id"""
            )
        )
        .all()
    )
    if never:
        listed = "; ".join(
            f"{row.id} (budget year {row.budget_year}, effective {row.effective_from} to "
            f"{row.effective_to or 'open'})"
            for row in never
        )
        raise RuntimeError(
            "these subsidy programmes' effective periods lie wholly outside their budget "
            f"years, so they were never in force: {listed}. Correct each one's budget_year "
            "or effective dates (or delete it: it has no claims), then migrate again."
        )


def upgrade() -> None:
    _refuse_programmes_never_in_force()
    op.execute(
        f"""UPDATE subsidy_programs
            SET effective_from = greatest(effective_from, {_YEAR_START}),
                effective_to = CASE WHEN effective_to IS NULL THEN NULL
                                    ELSE least(effective_to, {_YEAR_END}) END
            WHERE NOT ({IN_BUDGET_YEAR})"""
    )
    op.create_check_constraint(
        op.f("ck_subsidy_programs_in_budget_year"), "subsidy_programs", IN_BUDGET_YEAR
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_subsidy_programs_in_budget_year"), "subsidy_programs", type_="check"
    )
