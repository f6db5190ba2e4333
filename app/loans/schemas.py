from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.core.schemas import IsoDate, Money, PositiveMoney, Strict, Timestamp
from app.core.types import FreeText

RepaymentMethodName = Literal["interest_only_bullet", "equal_installment", "equal_principal"]
LoanState = Literal["active", "paid_off", "defaulted"]


class DisbursementBody(Strict):
    disbursed_on: IsoDate = Field(description="Value date: today or earlier, not before receipt.")
    repayment_method: RepaymentMethodName


class RepaymentBody(Strict):
    paid_on: IsoDate = Field(description="Value date: not in the future, not before disbursement.")
    amount: PositiveMoney


class DefaultBody(Strict):
    reason: FreeText = Field(min_length=1, max_length=2000)
    as_of: IsoDate = Field(description="The date the loan is 90 or more days past due.")


class InstallmentOut(BaseModel):
    seq: int
    due_date: IsoDate
    principal: Money
    interest: Money
    paid_principal: Money
    paid_interest: Money


class LoanOut(BaseModel):
    id: UUID
    application_id: UUID
    enterprise_id: UUID
    relationship_manager_id: str
    district_code: str
    industry: str
    principal: Money
    outstanding_principal: Money = Field(description="As of `as_of`.")
    rate_bp: int
    repayment_method: RepaymentMethodName
    term_months: int
    disbursed_on: IsoDate
    maturity_date: IsoDate
    state: LoanState
    as_of: IsoDate = Field(description="The date `days_past_due` and the paid amounts are as of.")
    days_past_due: int
    paid_off_on: IsoDate | None
    defaulted_on: IsoDate | None
    default_reason: str | None
    securitized_on: IsoDate | None = Field(
        description="When the loan was transferred to a securitisation vehicle; null until then."
    )
    schedule: list[InstallmentOut]
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class AllocationLine(BaseModel):
    seq: int
    interest: Money
    principal: Money


class RepaymentOut(BaseModel):
    id: UUID
    paid_on: IsoDate
    amount: Money
    interest_paid: Money
    principal_paid: Money
    allocation: list[AllocationLine]
    loan: LoanOut
