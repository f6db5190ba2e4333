"""The published calendar: every date of the years the pinned chinese-calendar package knows
(2004 onwards), and a revision sequence so that a calendar revision is never issued twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.calendar import loader

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_days = sa.table(
    "calendar_days",
    sa.column("day", sa.Date),
    sa.column("is_working", sa.Boolean),
    sa.column("kind", sa.Text),
    sa.column("holiday_name", sa.Text),
    sa.column("holiday_name_zh", sa.Text),
    sa.column("source", sa.Text),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_years = sa.table(
    "calendar_years",
    sa.column("year", sa.Integer),
    sa.column("published", sa.Boolean),
    sa.column("source", sa.Text),
    sa.column("notice", sa.Text),
    sa.column("published_at", sa.DateTime(timezone=True)),
    sa.column("version", sa.Integer),
)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE calendar_revision_seq AS integer")
    # Continue from the current revision (a downgrade and upgrade must not reissue one).
    op.execute(
        """SELECT setval('calendar_revision_seq',
                         (SELECT revision FROM calendar_state WHERE id = 1) + 1, false)"""
    )
    now = datetime.now(UTC)
    rows = loader.package_rows()
    op.bulk_insert(
        _days,
        [
            {
                "day": r.day,
                "is_working": r.is_working,
                "kind": r.kind,
                "holiday_name": r.holiday_name,
                "holiday_name_zh": r.holiday_name_zh,
                "source": loader.PACKAGE_SOURCE,
                "updated_at": now,
            }
            for year_rows in rows.values()
            for r in year_rows
        ],
    )
    op.bulk_insert(
        _years,
        [
            {
                "year": year,
                "published": True,
                "source": loader.PACKAGE_SOURCE,
                "notice": None,
                "published_at": now,
                "version": 1,
            }
            for year in rows
        ],
    )
    op.execute("UPDATE calendar_state SET revision = nextval('calendar_revision_seq') WHERE id = 1")


def downgrade() -> None:
    # Whole years, including dates an admin corrected since: a year is published whole or not.
    op.execute(
        """DELETE FROM calendar_days d USING calendar_years y
           WHERE y.year = extract(year FROM d.day)::int AND y.source LIKE 'chinese-calendar %'"""
    )
    op.execute("DELETE FROM calendar_years WHERE source LIKE 'chinese-calendar %'")
    op.execute("UPDATE calendar_state SET revision = revision + 1 WHERE id = 1")
    op.execute("DROP SEQUENCE calendar_revision_seq")
