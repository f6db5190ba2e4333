"""The states of an application, once: the model's check constraint, the schemas, the service's
moves and every SQL statement take them from here.

draft → submitted → under_review → approved | declined; submitted or under_review →
awaiting_information → submitted again; withdrawn from any state but declined, withdrawn and
disbursed; approved → disbursed (loans). Every other move is 409 invalid-state-transition.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    AWAITING_INFORMATION = "awaiting_information"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    DISBURSED = "disbursed"


S = ApplicationState

# The approval clock runs in these states.
OPEN = (S.SUBMITTED, S.UNDER_REVIEW)
DECIDED = (S.APPROVED, S.DECLINED, S.DISBURSED)
FINAL = frozenset({S.DECLINED, S.WITHDRAWN, S.DISBURSED})
SUBMITTABLE = (S.DRAFT, S.AWAITING_INFORMATION)
RETURNABLE = OPEN
WITHDRAWABLE = tuple(s for s in S if s not in FINAL)
# A quote may be taken for an application in these states.
QUOTABLE = (S.SUBMITTED, S.UNDER_REVIEW, S.AWAITING_INFORMATION)


def sql_list(states: Iterable[ApplicationState]) -> str:
    """``('submitted', 'under_review')``: a list for SQL text (the values are this enum's)."""
    return "(" + ", ".join(f"'{state.value}'" for state in states) + ")"
