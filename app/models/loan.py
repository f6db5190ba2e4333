from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk

REPAYMENT_METHODS = ("interest_only_bullet", "equal_installment", "equal_principal")
CLASSIFICATIONS = ("normal", "special_mention", "substandard", "doubtful", "loss")
PREPAYMENT_OPTIONS = ("reduce_installment", "shorten_term")


# Every state of a loan: disbursed active, it ends paid off or defaulted.
class LoanState(StrEnum):
    ACTIVE = "active"
    PAID_OFF = "paid_off"
    DEFAULTED = "defaulted"


LOAN_STATES = tuple(state.value for state in LoanState)
# The states as the schemas type them: a Literal, which the OpenAPI document spells inline
# (tests/core/test_state_literals.py holds it to the enum).
LoanStateLiteral = Literal["active", "paid_off", "defaulted"]


class Loan(Base):
    """A disbursed loan. ``outstanding_principal`` is kept with every repayment (under the
    loan's row lock) so that lists, pools and reports need not sum the schedule."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in LOAN_STATES) + ")", name="state"
        ),
        CheckConstraint(
            "repayment_method IN ('interest_only_bullet', 'equal_installment', 'equal_principal')",
            name="repayment_method",
        ),
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint(
            "outstanding_principal >= 0 AND outstanding_principal <= principal",
            name="outstanding_principal",
        ),
        CheckConstraint(
            f"(state = '{LoanState.PAID_OFF}') = (outstanding_principal = 0)", name="paid_off"
        ),
        Index("ix_loans_state_id", "state", "id"),
        Index("ix_loans_relationship_manager_id_id", "relationship_manager_id", "id"),
        Index("ix_loans_enterprise_id", "enterprise_id"),
        Index("ix_loans_district_code_id", "district_code", "id"),
        CheckConstraint(
            "classification IN ('normal', 'special_mention', 'substandard', 'doubtful', 'loss')",
            name="classification",
        ),
        # The classification sweep reads the loans whose class may have changed by today.
        Index(
            "ix_loans_classification_review_on",
            "classification_review_on",
            postgresql_where=text(f"state <> '{LoanState.PAID_OFF}'"),
        ),
    )

    id: Mapped[uuid_pk]
    application_id: Mapped[UUID] = mapped_column(ForeignKey("applications.id"), unique=True)
    enterprise_id: Mapped[UUID] = mapped_column(ForeignKey("enterprises.id"))
    relationship_manager_id: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    industry: Mapped[str] = mapped_column(Text)
    principal: Mapped[Decimal]
    outstanding_principal: Mapped[Decimal]
    rate_bp: Mapped[int] = mapped_column(Integer)
    repayment_method: Mapped[str] = mapped_column(Text)
    term_months: Mapped[int] = mapped_column(SmallInteger)
    disbursed_on: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(Text)
    paid_off_on: Mapped[date | None] = mapped_column(Date)
    defaulted_on: Mapped[date | None] = mapped_column(Date)
    default_reason: Mapped[str | None] = mapped_column(Text)
    # The value date of the latest repayment posted: a later posting may not be dated earlier.
    last_paid_on: Mapped[date | None] = mapped_column(Date)
    # The transfer date of the securitisation pool the loan was sold into; serviced on as before.
    securitized_on: Mapped[date | None] = mapped_column(Date)
    # The risk class last announced (``loan.classification_changed``), and the date on which
    # it may next change with the passing of days (null: to be worked out by the sweep).
    classification: Mapped[str] = mapped_column(Text, server_default="normal")
    classification_review_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
    version: Mapped[int] = mapped_column(Integer)


class LoanInstallment(Base):
    __tablename__ = "loan_installments"
    __table_args__ = (
        CheckConstraint("principal >= 0 AND interest >= 0", name="amounts"),
        CheckConstraint(
            "paid_principal >= 0 AND paid_principal <= principal AND paid_interest >= 0 "
            "AND paid_interest <= interest",
            name="paid_within_due",
        ),
        CheckConstraint("paid_penalty >= 0 AND penalty_fen_days >= 0", name="penalty"),
    )

    loan_id: Mapped[UUID] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal]
    interest: Mapped[Decimal]
    paid_principal: Mapped[Decimal]
    paid_interest: Mapped[Decimal]
    # Penalty interest paid, and the overdue principal accrued for it up to ``penalty_to``
    # in fen-days (unpaid principal × days), so that it is rounded once, on its total.
    paid_penalty: Mapped[Decimal] = mapped_column(server_default="0")
    penalty_fen_days: Mapped[int] = mapped_column(BigInteger, server_default="0")
    penalty_to: Mapped[date | None] = mapped_column(Date)


class LoanRepayment(Base):
    __tablename__ = "loan_repayments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "amount = principal_paid + interest_paid + penalty_interest_paid", name="allocated"
        ),
        CheckConstraint(
            "prepayment_option IN ('reduce_installment', 'shorten_term')", name="prepayment_option"
        ),
        Index("ix_loan_repayments_loan_id_id", "loan_id", "id"),
        # Pools undo the repayments dated after their cut-off to see each loan as it stood then.
        Index("ix_loan_repayments_paid_on", "paid_on"),
    )

    id: Mapped[uuid_pk]
    loan_id: Mapped[UUID] = mapped_column(ForeignKey("loans.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal]
    principal_paid: Mapped[Decimal]
    interest_paid: Mapped[Decimal]
    penalty_interest_paid: Mapped[Decimal] = mapped_column(server_default="0")
    # Of ``principal_paid``, what prepaid principal beyond the instalments' scheduled amounts.
    prepaid_principal: Mapped[Decimal] = mapped_column(server_default="0")
    prepayment_option: Mapped[str] = mapped_column(Text, server_default="reduce_installment")
    allocation: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # How many instalments the schedule had before this posting (a shortened term or a payoff
    # drops some from its end): pools see a loan's term as it stood at their cut-off. Null on
    # repayments posted before it was recorded.
    installments_before: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime]
    created_by: Mapped[UUID | None]
