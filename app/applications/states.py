"""The states of an application (``app.models.application.ApplicationState``, the one list,
which the table's check constraint is built from) and the groups the rules name; the schemas,
the service's moves and every SQL statement take them from here.

draft → submitted → under_review → approved | declined; submitted or under_review →
awaiting_information → submitted again; withdrawn from any state but declined, withdrawn and
disbursed; approved → disbursed (loans). Every other move is 409 invalid-state-transition.
"""

from __future__ import annotations

import functools

from app.models.application import OPEN_STATES, QUOTABLE_STATES, ApplicationState

__all__ = ["ApplicationState", "sql_list"]


S = ApplicationState

# The approval clock runs in these states.
OPEN = OPEN_STATES
DECIDED = (S.APPROVED, S.DECLINED, S.DISBURSED)
FINAL = frozenset({S.DECLINED, S.WITHDRAWN, S.DISBURSED})
SUBMITTABLE = (S.DRAFT, S.AWAITING_INFORMATION)
RETURNABLE = OPEN
WITHDRAWABLE = tuple(s for s in S if s not in FINAL)
# A quote may be taken for an application in these states.
QUOTABLE = QUOTABLE_STATES


@functools.cache
def sql_list(states: tuple[ApplicationState, ...]) -> str:
    """``('submitted', 'under_review')``: a list for SQL text (the values are this enum's)."""
    return "(" + ", ".join(f"'{state.value}'" for state in states) + ")"
