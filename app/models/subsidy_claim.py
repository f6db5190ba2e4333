from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, uuid_pk


# Every state of a subsidy claim: pending → approved → paid, or pending → rejected (its amount
# given back to the programme's budget).
class ClaimState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


CLAIM_STATES = tuple(state.value for state in ClaimState)
# The states a decision moves a pending claim to.
DECIDED_STATES = (ClaimState.APPROVED.value, ClaimState.REJECTED.value)
# The states as the schemas type them: a Literal, which the OpenAPI document spells inline
# (tests/core/test_state_literals.py holds it to the enum).
ClaimStateLiteral = Literal["pending", "approved", "rejected", "paid"]
ClaimOutcomeLiteral = Literal["approved", "rejected"]


class SubsidyClaim(Base):
    """A claim on a district programme: an interest subsidy for an interest payment, or risk
    compensation for a defaulted loan, after the programme's caps and budget."""

    __tablename__ = "subsidy_claims"
    __table_args__ = (
        CheckConstraint("kind IN ('interest_subsidy', 'risk_compensation')", name="kind"),
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in CLAIM_STATES) + ")", name="state"
        ),
        CheckConstraint("amount > 0 AND amount <= computed_amount", name="amount"),
        CheckConstraint(
            "limited_by IS NULL OR limited_by IN "
            "('cap_per_loan', 'cap_per_enterprise_year', 'budget')",
            name="limited_by",
        ),
        CheckConstraint("(kind = 'interest_subsidy') = (repayment_id IS NOT NULL)", name="basis"),
        Index("ix_subsidy_claims_program_id_id", "program_id", "id"),
        Index("ix_subsidy_claims_program_loan", "program_id", "loan_id"),
        Index(
            "ix_subsidy_claims_program_enterprise_year", "program_id", "enterprise_id", "claim_year"
        ),
        Index("ix_subsidy_claims_district_code_id", "district_code", "id"),
        Index(
            "uq_subsidy_claims_repayment_program",
            "repayment_id",
            "program_id",
            unique=True,
            postgresql_where=text("repayment_id IS NOT NULL"),
        ),
        Index(
            "uq_subsidy_claims_default_program",
            "loan_id",
            "program_id",
            unique=True,
            postgresql_where=text("kind = 'risk_compensation'"),
        ),
    )

    id: Mapped[uuid_pk]
    program_id: Mapped[UUID] = mapped_column(ForeignKey("subsidy_programs.id"))
    loan_id: Mapped[UUID] = mapped_column(ForeignKey("loans.id"))
    enterprise_id: Mapped[UUID] = mapped_column(ForeignKey("enterprises.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    kind: Mapped[str] = mapped_column(Text)
    repayment_id: Mapped[UUID | None] = mapped_column(ForeignKey("loan_repayments.id"))
    basis_date: Mapped[date] = mapped_column(Date)
    claim_year: Mapped[int] = mapped_column(Integer)
    basis_amount: Mapped[Decimal]
    computed_amount: Mapped[Decimal]
    amount: Mapped[Decimal]
    limited_by: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[UUID | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
