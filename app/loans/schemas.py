from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.core.schemas import IsoDate, Money, PositiveMoney, Strict, Timestamp
from app.core.types import FreeText
from app.models.loan import LoanStateLiteral

RepaymentMethodName = Literal["interest_only_bullet", "equal_installment", "equal_principal"]
PrepaymentOptionName = Literal["reduce_installment", "shorten_term"]
ClassificationName = Literal["normal", "special_mention", "substandard", "doubtful", "loss"]


class DisbursementBody(Strict):
    disbursed_on: IsoDate = Field(description="Value date: today or earlier, not before receipt.")
    repayment_method: RepaymentMethodName


class RepaymentBody(Strict):
    paid_on: IsoDate = Field(description="Value date: not in the future, not before disbursement.")
    amount: PositiveMoney
    prepayment_option: PrepaymentOptionName = Field(
        default="reduce_installment",
        description="How the instalments after the current one are re-amortised when the "
        "repayment prepays principal: keep their number and lower each, or keep each and "
        "drop the last ones.",
    )


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
    paid_penalty_interest: Money


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
    state: LoanStateLiteral
    as_of: IsoDate = Field(description="The date `days_past_due` and the paid amounts are as of.")
    days_past_due: int
    penalty_interest_due: Money = Field(
        description="Penalty interest on overdue principal accrued to `as_of` and not paid."
    )
    classification: ClassificationName = Field(
        description="Risk class (五级分类) by days past due as of `as_of`; a defaulted loan is "
        "at least substandard."
    )
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
    penalty_interest: Money
    interest: Money
    principal: Money


class RepaymentOut(BaseModel):
    id: UUID
    paid_on: IsoDate
    amount: Money
    interest_paid: Money
    principal_paid: Money = Field(description="Including `prepaid_principal`.")
    penalty_interest_paid: Money
    prepaid_principal: Money = Field(
        description="Principal paid beyond the instalments' scheduled amounts."
    )
    prepayment_option: PrepaymentOptionName
    allocation: list[AllocationLine]
    loan: LoanOut


class PayoffOut(BaseModel):
    loan_id: UUID
    on: IsoDate
    amount: Money = Field(description="Exactly what closes the loan on `on`: the sum of the parts.")
    overdue_principal: Money
    overdue_interest: Money
    penalty_interest: Money = Field(description="On overdue principal, accrued to `on`.")
    accrued_interest: Money = Field(
        description="The current period's interest accrued to `on` at rate / 360 a day on the "
        "principal not yet due, less what of it is paid."
    )
    outstanding_principal: Money = Field(description="The principal not yet due.")
