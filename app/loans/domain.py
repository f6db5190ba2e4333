"""A loan as the service hands it out: frozen, typed, its schedule and standing as of a date.

Built from the repository's row (``app.loans.repository.LOAN_COLUMNS``) with the schedule as it
stood on the date asked, or, after a posting, from the row read and what the posting wrote; the
views present it (``app.loans.views``). A repayment answers with a ``Posted``, a payoff quote
with a ``Payoff``, a list with a ``LoanPage``.

The posting of a repayment answers with its loan on the hot path, so these are cheap to make:
slotted, built positionally, sharing the schedule (an immutable tuple) rather than copying it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.core.schemas import encode_cursor
from app.loans import rows
from app.loans.ledger import Schedule, Terms
from app.loans.payoff import PayoffQuote
from app.loans.servicing import Standing, standing
from app.models.loan import LoanState


def state_as_of(loan: Mapping[str, Any], as_of: date) -> LoanState:
    """The loan's state on ``as_of`` from its row (see ``Loan.state_on``)."""
    return _state_on(loan["paid_off_on"], loan["defaulted_on"], as_of)


def _state_on(paid_off_on: date | None, defaulted_on: date | None, on: date) -> LoanState:
    # What it is today only from the date it became so; before that it was active (a loan is
    # disbursed active, and ends paid off or defaulted).
    if paid_off_on is not None and paid_off_on <= on:
        return LoanState.PAID_OFF
    if defaulted_on is not None and defaulted_on <= on:
        return LoanState.DEFAULTED
    return LoanState.ACTIVE


@dataclass(frozen=True, slots=True)
class Loan:
    """The loan as of ``standing.on``: its facts, ``schedule`` as it stood then, its ``terms``
    and what it owed then (``standing``). ``state``, ``paid_off_on``, ``defaulted_on`` and
    ``classification`` are as stored (today); ``state_on`` says what the loan was on a date."""

    id: UUID
    application_id: UUID
    enterprise_id: UUID
    relationship_manager_id: str
    district_code: str
    industry: str
    principal: Decimal
    rate_bp: int
    repayment_method: str
    term_months: int
    disbursed_on: date
    maturity_date: date
    state: str
    paid_off_on: date | None
    defaulted_on: date | None
    default_reason: str | None
    securitized_on: date | None
    classification: str
    created_at: datetime
    updated_at: datetime
    version: int
    schedule: Schedule
    terms: Terms
    standing: Standing

    @property
    def as_of(self) -> date:
        return self.standing.on

    def state_on(self, on: date) -> LoanState:
        return _state_on(self.paid_off_on, self.defaulted_on, on)

    @classmethod
    def of(cls, row: Mapping[str, Any], schedule: Schedule, as_of: date, uplift: Decimal) -> Loan:
        """The loan of ``row`` as of ``as_of``, ``schedule`` as it stood then; ``uplift`` the
        penalty uplift setting."""
        terms = rows.terms(row, uplift)
        defaulted = state_as_of(row, as_of) == LoanState.DEFAULTED
        now = standing(schedule, as_of, terms, defaulted=defaulted)
        return _loan(
            row,
            row["maturity_date"],
            row["state"],
            row["paid_off_on"],
            row["classification"],
            row["updated_at"],
            row["version"],
            schedule,
            terms,
            now,
        )

    @classmethod
    def posted(
        cls,
        row: Mapping[str, Any],
        written: Mapping[str, Any],
        updated: Mapping[str, Any],
        schedule: Schedule,
        terms: Terms,
        now: Standing,
    ) -> Loan:
        """The loan of ``row`` (active, as the posting read it) once the posting has written
        ``written`` (its ``paid_off_on``, ``maturity_date`` and ``classification``) and the
        database answered ``updated`` (its ``version`` and ``updated_at``): ``schedule`` as it
        stands after the posting, ``now`` what the loan owes today."""
        paid_off_on = written["paid_off_on"]
        return _loan(
            row,
            written["maturity_date"],
            LoanState.ACTIVE if paid_off_on is None else LoanState.PAID_OFF,
            paid_off_on,
            written["classification"],
            updated["updated_at"],
            updated["version"],
            schedule,
            terms,
            now,
        )


def _loan(
    row: Mapping[str, Any],
    maturity_date: date,
    state: str,
    paid_off_on: date | None,
    classification: str,
    updated_at: datetime,
    version: int,
    schedule: Schedule,
    terms: Terms,
    now: Standing,
) -> Loan:
    return Loan(
        row["id"],
        row["application_id"],
        row["enterprise_id"],
        row["relationship_manager_id"],
        row["district_code"],
        row["industry"],
        row["principal"],
        row["rate_bp"],
        row["repayment_method"],
        row["term_months"],
        row["disbursed_on"],
        maturity_date,
        state,
        paid_off_on,
        row["defaulted_on"],
        row["default_reason"],
        row["securitized_on"],
        classification,
        row["created_at"],
        updated_at,
        version,
        schedule,
        terms,
        now,
    )


@dataclass(frozen=True, slots=True)
class Posted:
    """A repayment as posted: its amount as sent, its parts in fen, its allocation (in the form
    stored with it: per instalment, the money as text) and the loan after it, as of today."""

    id: UUID
    paid_on: date
    amount: Decimal
    principal_paid: int
    interest_paid: int
    penalty_interest_paid: int
    prepaid_principal: int
    prepayment_option: str
    allocation: Sequence[Mapping[str, Any]]
    loan: Loan


@dataclass(frozen=True, slots=True)
class Payoff:
    """What closes the loan on ``quote.on``."""

    loan_id: UUID
    quote: PayoffQuote


@dataclass(frozen=True, slots=True)
class LoanPage:
    items: tuple[Loan, ...]
    next_cursor: str | None

    @classmethod
    def of(
        cls, records: Sequence[Mapping[str, Any]], limit: int, as_of: date, uplift: Decimal
    ) -> LoanPage:
        """A page of loans as of ``as_of`` from ``limit + 1`` rows newest first (see
        ``app.core.schemas.paged``)."""
        shown = records[:limit]
        return cls(
            items=tuple(Loan.of(r, rows.schedule(r["schedule"]), as_of, uplift) for r in shown),
            next_cursor=encode_cursor(shown[-1]["id"]) if len(records) > limit else None,
        )
