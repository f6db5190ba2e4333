"""The servicing engine: a loan's state from its facts (SPEC.md 3.6).

From the terms and the repayments, in value-date order, ``replay`` computes the schedule as it
stands after them; ``post`` (``app.loans.allocation``) takes it one repayment further, and
``standing`` says what the loan owes on a date. The database keeps the result of the latest
posting (the schedule rows), so a posting and a read of today need no replay; a read as of a
past date replays the repayments dated on or before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.loans.accrual import days_past_due, penalty_interest_due
from app.loans.allocation import post
from app.loans.classification import Classification, classify
from app.loans.ledger import Instalment, Posting, Repayment, Schedule, Terms, outstanding_principal
from app.loans.schedule import amortise_fen, due_date

__all__ = ["Standing", "initial_schedule", "post", "replay", "standing"]


def initial_schedule(terms: Terms) -> Schedule:
    rows = amortise_fen(terms.method, terms.principal, terms.rate_bp, terms.term_months)
    return tuple(
        Instalment(seq, due_date(terms.disbursed_on, seq), principal, interest)
        for seq, (principal, interest) in enumerate(rows, start=1)
    )


def replay(terms: Terms, repayments: Iterable[Repayment]) -> tuple[Schedule, list[Posting]]:
    """The schedule after ``repayments`` (in value-date order) and each one's posting."""
    schedule = initial_schedule(terms)
    postings = []
    for repayment in repayments:
        posting = post(schedule, terms, repayment)
        postings.append(posting)
        schedule = posting.schedule
    return schedule, postings


@dataclass(frozen=True, slots=True)
class Standing:
    """What a loan owes on a date, from its schedule as it stood then."""

    on: date
    outstanding_principal: int
    days_past_due: int
    penalty_interest_due: int
    classification: Classification


def standing(schedule: Schedule, on: date, terms: Terms, *, defaulted: bool) -> Standing:
    outstanding = outstanding_principal(schedule)
    if outstanding <= 0:
        return Standing(on, 0, 0, penalty_interest_due(schedule, on, terms), Classification.NORMAL)
    dpd = days_past_due(schedule, on)
    return Standing(
        on=on,
        outstanding_principal=outstanding,
        days_past_due=dpd,
        penalty_interest_due=penalty_interest_due(schedule, on, terms),
        classification=classify(dpd, defaulted=defaulted),
    )
