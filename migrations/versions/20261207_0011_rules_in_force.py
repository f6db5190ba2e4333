"""Subsidy programmes are in force only within their budget year, and a locked pool's tape
keeps the pledge cells it had at the lock.

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

Pools. ``pool_loans.pledges_at_lock`` keeps, per member of a locked or transferred pool, the
tape's pledge cells (count, kinds, numbers, registration numbers, valuations and their dates)
as they stood at the lock, so that no valuation posted afterwards, whatever its timestamp, can
change the tape. Pools locked before are filled from the valuations recorded by their lock
(exactly what their tape showed until now).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

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

# The tape's pledge cells of loan ``l`` as its pool ``po`` was locked: the valuations current
# on the cut-off among those recorded by the lock.
_PLEDGES_AT_LOCK = """
UPDATE pool_loans pl SET pledges_at_lock = to_jsonb(a)
FROM pools po, loans l, LATERAL (
    SELECT count(*) AS pledge_count,
           string_agg(ia.kind, ';' ORDER BY ia.kind, ia.number) AS kinds,
           string_agg(ia.number, ';' ORDER BY ia.kind, ia.number) AS numbers,
           string_agg(coalesce(p.registration_no, ''), ';' ORDER BY ia.kind, ia.number)
               AS registration_nos,
           string_agg(coalesce(v.value::text, ''), ';' ORDER BY ia.kind, ia.number)
               AS valuations,
           string_agg(coalesce(v.valuation_date::text, ''), ';' ORDER BY ia.kind, ia.number)
               AS valuation_dates
    FROM pledges p
    JOIN ip_assets ia ON ia.id = p.ip_asset_id
    LEFT JOIN LATERAL (
        SELECT iv.value, iv.valuation_date FROM ip_asset_valuations iv
        WHERE iv.ip_asset_id = p.ip_asset_id AND iv.valuation_date <= po.cut_off_date
          AND iv.created_at <= po.locked_at
        ORDER BY iv.valuation_date DESC, iv.id DESC LIMIT 1
    ) v ON true
    WHERE p.application_id = l.application_id AND p.state <> 'cancelled'
) a
WHERE po.id = pl.pool_id AND po.state <> 'open' AND l.id = pl.loan_id
"""


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
    op.add_column(
        "pool_loans",
        sa.Column("pledges_at_lock", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.execute(_PLEDGES_AT_LOCK)


def downgrade() -> None:
    op.drop_column("pool_loans", "pledges_at_lock")
    op.drop_constraint(
        op.f("ck_subsidy_programs_in_budget_year"), "subsidy_programs", type_="check"
    )
