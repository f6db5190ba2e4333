"""Loan servicing: what the servicing engine keeps, and every loan's schedule re-derived by it.

Instalments keep the penalty interest paid on them and the overdue principal accrued for it
(fen-days, up to ``penalty_to``); repayments keep their penalty interest, the principal they
prepaid and their prepayment option (a repayment's amount is now principal, interest and
penalty interest); loans keep the risk class last announced and the date it may next change.

Then each loan with repayments is replayed through the engine (``app.loans.servicing``), in
batches of loans: its schedule, outstanding principal, maturity and each repayment's
allocation become what posting the same repayments under the current rules gives (earlier
repayments took no option: they reduce the instalment). A loan already paid off whose
repayments would not close it under these rules keeps its stored history; so does one whose
replay an old posting cannot pass. Last, every loan's risk class as of the upgrade's date is
stored as its last announced class, with the date it may next change: nothing changed, so
nothing is announced, and the sweep announces only the changes that come after.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    op.add_column(
        "loan_installments",
        sa.Column("paid_penalty", sa.Numeric(20, 2), server_default="0", nullable=False),
    )
    op.add_column(
        "loan_installments",
        sa.Column("penalty_fen_days", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column("loan_installments", sa.Column("penalty_to", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_loan_installments_penalty"),
        "loan_installments",
        "paid_penalty >= 0 AND penalty_fen_days >= 0",
    )
    op.add_column(
        "loan_repayments",
        sa.Column("penalty_interest_paid", sa.Numeric(20, 2), server_default="0", nullable=False),
    )
    op.add_column(
        "loan_repayments",
        sa.Column("prepaid_principal", sa.Numeric(20, 2), server_default="0", nullable=False),
    )
    op.add_column(
        "loan_repayments",
        sa.Column(
            "prepayment_option", sa.Text(), server_default="reduce_installment", nullable=False
        ),
    )
    op.drop_constraint(op.f("ck_loan_repayments_allocated"), "loan_repayments", type_="check")
    op.create_check_constraint(
        op.f("ck_loan_repayments_allocated"),
        "loan_repayments",
        "amount = principal_paid + interest_paid + penalty_interest_paid",
    )
    op.create_check_constraint(
        op.f("ck_loan_repayments_prepayment_option"),
        "loan_repayments",
        "prepayment_option IN ('reduce_installment', 'shorten_term')",
    )
    op.add_column(
        "loans", sa.Column("classification", sa.Text(), server_default="normal", nullable=False)
    )
    op.add_column("loans", sa.Column("classification_review_on", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_loans_classification"),
        "loans",
        "classification IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')",
    )
    op.create_index(
        op.f("ix_loans_classification_review_on"),
        "loans",
        ["classification_review_on"],
        postgresql_where=sa.text("state <> 'paid_off'"),
    )
    _replay_all(op.get_bind())
    _classify_all(op.get_bind())
    # Every stored date lies within what a caller may send (revision 0009's rule).
    for table, column in (
        ("loan_installments", "penalty_to"),
        ("loans", "classification_review_on"),
    ):
        op.create_check_constraint(
            op.f(f"ck_{table}_{column}_in_range"),
            table,
            f"{column} BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
        )


def _replay_all(bind: sa.Connection) -> None:
    from app.config import get_settings

    uplift = get_settings().penalty_uplift
    today = _today()
    last = None
    while True:
        loans = (
            bind.execute(
                sa.text(
                    """SELECT l.id, l.principal, l.rate_bp, l.repayment_method, l.term_months,
                          l.disbursed_on, l.state, l.paid_off_on, l.defaulted_on
                   FROM loans l
                   WHERE (CAST(:last AS uuid) IS NULL OR l.id > CAST(:last AS uuid))
                     AND EXISTS (SELECT 1 FROM loan_repayments r WHERE r.loan_id = l.id)
                   ORDER BY l.id LIMIT :batch"""
                ),
                {"last": last, "batch": BATCH},
            )
            .mappings()
            .all()
        )
        if not loans:
            return
        last = loans[-1]["id"]
        _replay_batch(bind, loans, uplift, today)


def _replay_batch(bind: sa.Connection, loans: Any, uplift: Decimal, today: date) -> None:
    from app.loans import rows
    from app.loans.ledger import Overpayment, PayoffRequired, outstanding_principal, to_money
    from app.loans.servicing import replay

    records = (
        bind.execute(
            sa.text(
                """SELECT id, loan_id, paid_on, amount, prepayment_option FROM loan_repayments
               WHERE loan_id = ANY(:ids) ORDER BY loan_id, paid_on, created_at, id"""
            ),
            {"ids": [loan["id"] for loan in loans]},
        )
        .mappings()
        .all()
    )
    by_loan: dict[Any, list[Any]] = defaultdict(list)
    for record in records:
        by_loan[record["loan_id"]].append(record)
    instalments: list[dict[str, Any]] = []
    loan_updates: list[dict[str, Any]] = []
    repayment_updates: list[dict[str, Any]] = []
    for loan in loans:
        paid = by_loan[loan["id"]]
        try:
            schedule, postings = replay(rows.terms(loan, uplift), rows.repayments(paid))
        except (Overpayment, PayoffRequired):
            continue
        closed = bool(postings) and postings[-1].paid_off
        if closed != (loan["state"] == "paid_off"):
            continue
        for values in rows.instalment_params(schedule):
            instalments.append(dict(zip(_INSTALMENT_COLUMNS, (loan["id"], *values), strict=True)))
        cls, review = _class_as_of(loan, schedule, today)
        loan_updates.append(
            {
                "id": loan["id"],
                "outstanding": to_money(outstanding_principal(schedule)),
                "maturity": schedule[-1].due_date,
                "cls": cls,
                "review": review,
            }
        )
        for record, posting in zip(paid, postings, strict=True):
            repayment_updates.append(
                {
                    "id": record["id"],
                    "principal": to_money(posting.principal_paid),
                    "interest": to_money(posting.interest_paid),
                    "penalty": to_money(posting.penalty_paid),
                    "prepaid": to_money(posting.prepaid_principal),
                    "allocation": json.dumps(rows.allocation_json(posting)),
                }
            )
    if not loan_updates:
        return
    bind.execute(
        sa.text("DELETE FROM loan_installments WHERE loan_id = ANY(:ids)"),
        {"ids": [u["id"] for u in loan_updates]},
    )
    bind.execute(
        sa.text(
            f"INSERT INTO loan_installments ({', '.join(_INSTALMENT_COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in _INSTALMENT_COLUMNS)})"
        ),
        instalments,
    )
    bind.execute(
        sa.text(
            """UPDATE loans SET outstanding_principal = :outstanding, maturity_date = :maturity,
                      classification = :cls, classification_review_on = :review
               WHERE id = :id"""
        ),
        loan_updates,
    )
    bind.execute(
        sa.text(
            """UPDATE loan_repayments SET principal_paid = :principal, interest_paid = :interest,
                      penalty_interest_paid = :penalty, prepaid_principal = :prepaid,
                      allocation = CAST(:allocation AS jsonb)
               WHERE id = :id"""
        ),
        repayment_updates,
    )


def _today() -> date:
    from app.core.clock import business_date

    return business_date(datetime.now(UTC))


def _class_as_of(loan: Any, schedule: Any, today: date) -> tuple[str, date]:
    """A loan's class on ``today`` and the date it may next change."""
    from app.loans.classification import classify_schedule, next_change
    from app.loans.domain import state_as_of
    from app.loans.posting import NEVER

    state = state_as_of(loan, today)
    if state == "paid_off":
        return "normal", NEVER
    defaulted = state == "defaulted"
    cls = classify_schedule(schedule, today, defaulted=defaulted).value
    return cls, next_change(schedule, today, defaulted=defaulted) or NEVER


def _classify_all(bind: sa.Connection) -> None:
    """The class of each loan the replay left alone (none has a review date yet), as of
    today, with the date it may next change; no event."""
    from app.loans import rows
    from app.loans.repository import SCHEDULE

    today = _today()
    last = None
    while True:
        loans = (
            bind.execute(
                sa.text(
                    f"""SELECT l.id, l.paid_off_on, l.defaulted_on, {SCHEDULE} FROM loans l
                       WHERE (CAST(:last AS uuid) IS NULL OR l.id > CAST(:last AS uuid))
                         AND l.classification_review_on IS NULL
                       ORDER BY l.id LIMIT :batch"""
                ),
                {"last": last, "batch": BATCH},
            )
            .mappings()
            .all()
        )
        if not loans:
            return
        last = loans[-1]["id"]
        updates = []
        for loan in loans:
            cls, review = _class_as_of(loan, rows.schedule(loan["schedule"]), today)
            updates.append({"id": loan["id"], "cls": cls, "review": review})
        bind.execute(
            sa.text(
                """UPDATE loans SET classification = :cls, classification_review_on = :review
                   WHERE id = :id"""
            ),
            updates,
        )


_INSTALMENT_COLUMNS = (
    "loan_id",
    "seq",
    "due_date",
    "principal",
    "interest",
    "paid_principal",
    "paid_interest",
    "paid_penalty",
    "penalty_fen_days",
    "penalty_to",
)


def downgrade() -> None:
    op.drop_index(op.f("ix_loans_classification_review_on"), table_name="loans")
    op.drop_constraint(op.f("ck_loans_classification"), "loans", type_="check")
    op.drop_column("loans", "classification_review_on")
    op.drop_column("loans", "classification")
    op.drop_constraint(
        op.f("ck_loan_repayments_prepayment_option"), "loan_repayments", type_="check"
    )
    op.drop_constraint(op.f("ck_loan_repayments_allocated"), "loan_repayments", type_="check")
    # The earlier shape has no penalty interest: it is counted as interest, as it was paid.
    op.execute("UPDATE loan_repayments SET interest_paid = interest_paid + penalty_interest_paid")
    op.create_check_constraint(
        op.f("ck_loan_repayments_allocated"),
        "loan_repayments",
        "amount = principal_paid + interest_paid",
    )
    op.drop_column("loan_repayments", "prepayment_option")
    op.drop_column("loan_repayments", "prepaid_principal")
    op.drop_column("loan_repayments", "penalty_interest_paid")
    op.drop_constraint(op.f("ck_loan_installments_penalty"), "loan_installments", type_="check")
    op.drop_column("loan_installments", "penalty_to")
    op.drop_column("loan_installments", "penalty_fen_days")
    op.drop_column("loan_installments", "paid_penalty")
