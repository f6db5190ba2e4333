"""Risk classification (五级分类, the 2023 rules on banks' financial-asset risk
classification) by days past due, SPEC.md 3.6:

| class | days past due |
|---|---|
| ``normal`` | 0 |
| ``special_mention`` (关注) | 1–90 |
| ``substandard`` (次级) | 91–270 |
| ``doubtful`` (可疑) | 271–360 |
| ``loss`` (损失) | over 360 |

A defaulted loan is at least ``substandard``. A paid-off loan is ``normal``.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from app.loans.accrual import days_past_due, oldest_unsettled
from app.loans.ledger import Schedule


class Classification(StrEnum):
    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"


CLASSES = tuple(Classification)
NON_PERFORMING = frozenset(
    (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS)
)
# The first day past due of each class after normal.
_BANDS = (
    (361, Classification.LOSS),
    (271, Classification.DOUBTFUL),
    (91, Classification.SUBSTANDARD),
    (1, Classification.SPECIAL_MENTION),
)


def classify(dpd: int, *, defaulted: bool = False) -> Classification:
    found = Classification.NORMAL
    for first_day, cls in _BANDS:
        if dpd >= first_day:
            found = cls
            break
    if defaulted and CLASSES.index(found) < CLASSES.index(Classification.SUBSTANDARD):
        return Classification.SUBSTANDARD
    return found


def classify_schedule(schedule: Schedule, on: date, *, defaulted: bool) -> Classification:
    return classify(days_past_due(schedule, on), defaulted=defaulted)


def next_change(schedule: Schedule, on: date, *, defaulted: bool) -> date | None:
    """The first date after ``on`` on which the class would change if nothing more were
    paid (None: never). Days past due then grow by one a day from the oldest unpaid
    instalment's due date, so the class can only change where a band begins."""
    oldest = oldest_unsettled(schedule)
    if oldest is None:
        return None
    now = classify_schedule(schedule, on, defaulted=defaulted)
    for first_day, _ in reversed(_BANDS):
        when = oldest + timedelta(days=first_day)
        if when > on and classify((when - oldest).days, defaulted=defaulted) != now:
            return when
    return None
