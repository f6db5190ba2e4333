"""Stored dates every read can serve: repair those outside 1990-01-01 … 2100-12-31, then hold
every date column to that range with a CHECK constraint (``ck_<table>_<column>_in_range``).

Dates were once taken as callers sent them, so a table may hold ``-infinity``, ``infinity``,
year 1 or year 9999, which reads cannot serve (date arithmetic overflows, answers refuse them).
Each such value is repaired, per column:

- ``calendar_days.day`` and ``lpr_fixings.fixing_date`` (primary keys, which clamping could
  collide): the row is deleted. No working-day calendar or rate fixing exists for such a date.
- ``ip_assets.protection_expires_on`` and ``subsidy_programs.effective_to`` (null means "no
  end"): a date after the range becomes null (no end); one before it becomes 1990-01-01 (an end
  long past).
- every other column: the date is clamped into the range (before it: 1990-01-01; after it:
  2100-12-31), which keeps the row's not-null facts and the order of its dates.

The audit trail keeps what was sent. Downgrading drops the constraints; repaired values stay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LOW, HIGH = "DATE '1990-01-01'", "DATE '2100-12-31'"

# Every date column at revision 0008.
DATE_COLUMNS = (
    ("application_quotes", "lpr_date"),
    ("application_quotes", "quote_date"),
    ("applications", "deadline_date"),
    ("approval_clocks", "deadline_date"),
    ("calendar_days", "day"),
    ("ip_asset_valuations", "valuation_date"),
    ("ip_assets", "protection_expires_on"),
    ("loan_installments", "due_date"),
    ("loan_repayments", "paid_on"),
    ("loans", "defaulted_on"),
    ("loans", "disbursed_on"),
    ("loans", "last_paid_on"),
    ("loans", "maturity_date"),
    ("loans", "paid_off_on"),
    ("loans", "securitized_on"),
    ("lpr_fixings", "fixing_date"),
    ("pledges", "enforced_on"),
    ("pledges", "registered_on"),
    ("pledges", "released_on"),
    ("pools", "cut_off_date"),
    ("pools", "transfer_date"),
    ("subsidy_claims", "basis_date"),
    ("subsidy_claims", "paid_on"),
    ("subsidy_programs", "effective_from"),
    ("subsidy_programs", "effective_to"),
)
DELETED = {("calendar_days", "day"), ("lpr_fixings", "fixing_date")}
OPEN_ENDED = {("ip_assets", "protection_expires_on"), ("subsidy_programs", "effective_to")}


def _constraint(column: str) -> str:
    return f"{column}_in_range"


def _outside(column: str) -> str:
    return f"NOT ({column} BETWEEN {LOW} AND {HIGH})"


def _repaired(table: str, column: str) -> str:
    if (table, column) in OPEN_ENDED:
        value = f"CASE WHEN {column} > {HIGH} THEN NULL ELSE {LOW} END"
    else:
        value = f"LEAST(GREATEST({column}, {LOW}), {HIGH})"
    return f"{column} = CASE WHEN {_outside(column)} THEN {value} ELSE {column} END"


def _repair(table: str, columns: list[str]) -> None:
    """One statement per table, so that each row is written once."""
    deleted = [c for c in columns if (table, c) in DELETED]
    for column in deleted:
        op.execute(f"DELETE FROM {table} WHERE {_outside(column)}")
    updated = [c for c in columns if (table, c) not in DELETED]
    if updated:
        op.execute(
            f"UPDATE {table} SET {', '.join(_repaired(table, c) for c in updated)} "
            f"WHERE {' OR '.join(_outside(c) for c in updated)}"
        )


def upgrade() -> None:
    by_table: dict[str, list[str]] = {}
    for table, column in DATE_COLUMNS:
        by_table.setdefault(table, []).append(column)
    for table, columns in by_table.items():
        _repair(table, columns)
        for column in columns:
            op.create_check_constraint(
                op.f(f"ck_{table}_{_constraint(column)}"),
                table,
                f"{column} BETWEEN {LOW} AND {HIGH}",
            )


def downgrade() -> None:
    for table, column in reversed(DATE_COLUMNS):
        op.drop_constraint(op.f(f"ck_{table}_{_constraint(column)}"), table, type_="check")
