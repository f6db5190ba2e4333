"""Loans (the disbursed loan, its instalments, its repayments) and subsidy claims.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 05:24:17.034891
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loans",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("enterprise_id", sa.UUID(), nullable=False),
        sa.Column("relationship_manager_id", sa.Text(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("industry", sa.Text(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("outstanding_principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("repayment_method", sa.Text(), nullable=False),
        sa.Column("term_months", sa.SmallInteger(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("paid_off_on", sa.Date(), nullable=True),
        sa.Column("defaulted_on", sa.Date(), nullable=True),
        sa.Column("default_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(state = 'paid_off') = (outstanding_principal = 0)", name=op.f("ck_loans_paid_off")
        ),
        sa.CheckConstraint(
            "repayment_method IN ('interest_only_bullet', 'equal_installment', 'equal_principal')",
            name=op.f("ck_loans_repayment_method"),
        ),
        sa.CheckConstraint(
            "state IN ('active', 'paid_off', 'defaulted')", name=op.f("ck_loans_state")
        ),
        sa.CheckConstraint(
            "outstanding_principal >= 0 AND outstanding_principal <= principal",
            name=op.f("ck_loans_outstanding_principal"),
        ),
        sa.CheckConstraint("principal > 0", name=op.f("ck_loans_principal_positive")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_loans_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_loans_district_code_districts")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_loans_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
        sa.UniqueConstraint("application_id", name=op.f("uq_loans_application_id")),
    )
    op.create_index("ix_loans_district_code_id", "loans", ["district_code", "id"], unique=False)
    op.create_index("ix_loans_enterprise_id", "loans", ["enterprise_id"], unique=False)
    op.create_index(
        "ix_loans_relationship_manager_id_id",
        "loans",
        ["relationship_manager_id", "id"],
        unique=False,
    )
    op.create_index("ix_loans_state_id", "loans", ["state", "id"], unique=False)
    op.create_table(
        "loan_installments",
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("interest", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("paid_principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("paid_interest", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.CheckConstraint(
            "paid_principal >= 0 AND paid_principal <= principal AND paid_interest >= 0 AND paid_interest <= interest",
            name=op.f("ck_loan_installments_paid_within_due"),
        ),
        sa.CheckConstraint(
            "principal >= 0 AND interest >= 0", name=op.f("ck_loan_installments_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_installments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "seq", name=op.f("pk_loan_installments")),
    )
    op.create_table(
        "loan_repayments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("principal_paid", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("interest_paid", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("allocation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "amount = principal_paid + interest_paid", name=op.f("ck_loan_repayments_allocated")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_repayments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_repayments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_repayments")),
    )
    op.create_index(
        "ix_loan_repayments_loan_id_id", "loan_repayments", ["loan_id", "id"], unique=False
    )
    op.create_table(
        "subsidy_claims",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("program_id", sa.UUID(), nullable=False),
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("enterprise_id", sa.UUID(), nullable=False),
        sa.Column("district_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("repayment_id", sa.UUID(), nullable=True),
        sa.Column("basis_date", sa.Date(), nullable=False),
        sa.Column("claim_year", sa.Integer(), nullable=False),
        sa.Column("basis_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("computed_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("limited_by", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'interest_subsidy') = (repayment_id IS NOT NULL)",
            name=op.f("ck_subsidy_claims_basis"),
        ),
        sa.CheckConstraint(
            "kind IN ('interest_subsidy', 'risk_compensation')", name=op.f("ck_subsidy_claims_kind")
        ),
        sa.CheckConstraint(
            "limited_by IS NULL OR limited_by IN ('cap_per_loan', 'cap_per_enterprise_year', 'budget')",
            name=op.f("ck_subsidy_claims_limited_by"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'paid')",
            name=op.f("ck_subsidy_claims_state"),
        ),
        sa.CheckConstraint(
            "amount > 0 AND amount <= computed_amount", name=op.f("ck_subsidy_claims_amount")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_subsidy_claims_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_subsidy_claims_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_subsidy_claims_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_claims_program_id_subsidy_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["repayment_id"],
            ["loan_repayments.id"],
            name=op.f("fk_subsidy_claims_repayment_id_loan_repayments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_claims")),
    )
    op.create_index(
        "ix_subsidy_claims_district_code_id",
        "subsidy_claims",
        ["district_code", "id"],
        unique=False,
    )
    op.create_index(
        "ix_subsidy_claims_program_enterprise_year",
        "subsidy_claims",
        ["program_id", "enterprise_id", "claim_year"],
        unique=False,
    )
    op.create_index(
        "ix_subsidy_claims_program_id_id", "subsidy_claims", ["program_id", "id"], unique=False
    )
    op.create_index(
        "ix_subsidy_claims_program_loan", "subsidy_claims", ["program_id", "loan_id"], unique=False
    )
    op.create_index(
        "uq_subsidy_claims_default_program",
        "subsidy_claims",
        ["loan_id", "program_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'risk_compensation'"),
    )
    op.create_index(
        "uq_subsidy_claims_repayment_program",
        "subsidy_claims",
        ["repayment_id", "program_id"],
        unique=True,
        postgresql_where=sa.text("repayment_id IS NOT NULL"),
    )
    op.add_column(
        "subsidy_programs",
        sa.Column("budget_exhausted_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("subsidy_programs", "budget_exhausted_at")
    op.drop_index(
        "uq_subsidy_claims_repayment_program",
        table_name="subsidy_claims",
        postgresql_where=sa.text("repayment_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_subsidy_claims_default_program",
        table_name="subsidy_claims",
        postgresql_where=sa.text("kind = 'risk_compensation'"),
    )
    op.drop_index("ix_subsidy_claims_program_loan", table_name="subsidy_claims")
    op.drop_index("ix_subsidy_claims_program_id_id", table_name="subsidy_claims")
    op.drop_index("ix_subsidy_claims_program_enterprise_year", table_name="subsidy_claims")
    op.drop_index("ix_subsidy_claims_district_code_id", table_name="subsidy_claims")
    op.drop_table("subsidy_claims")
    op.drop_index("ix_loan_repayments_loan_id_id", table_name="loan_repayments")
    op.drop_table("loan_repayments")
    op.drop_table("loan_installments")
    op.drop_index("ix_loans_state_id", table_name="loans")
    op.drop_index("ix_loans_relationship_manager_id_id", table_name="loans")
    op.drop_index("ix_loans_enterprise_id", table_name="loans")
    op.drop_index("ix_loans_district_code_id", table_name="loans")
    op.drop_table("loans")
