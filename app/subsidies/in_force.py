"""When a district programme is in force (SPEC 3.7): the one definition that pricing's
``district_risk_sharing`` component, the claims made on interest payments and defaults, and
the subsidies report all read.

A programme is in force on a date when the date lies within ``effective_from`` …
``effective_to`` (no ``effective_to``: to the end of the budget year) **and** within its
``budget_year``. The database refuses a programme whose effective period reaches outside its
budget year (the ``in_budget_year`` check), so the two conditions normally coincide; both are
still written here, so that the definition holds whatever the rows say.

It is written twice, once in Python (``in_force``, ``in_force_window``) and once in SQL
(``in_force_sql``, ``in_force_during_sql``); ``tests/subsidies/test_in_force.py`` holds the
two together over random programmes and dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.core.errors import ValidationFailed, field_error


@dataclass(frozen=True, slots=True)
class Period:
    """The dates a programme is defined for: its effective period and its budget year."""

    effective_from: date
    effective_to: date | None
    budget_year: int


def in_force_window(period: Period) -> tuple[date, date]:
    """The first and last dates the programme is in force; empty when first > last."""
    year_end = date(period.budget_year, 12, 31)
    first = max(period.effective_from, date(period.budget_year, 1, 1))
    last = year_end if period.effective_to is None else min(period.effective_to, year_end)
    return first, last


def in_force(period: Period, on: date) -> bool:
    """Whether the programme is in force on ``on``."""
    first, last = in_force_window(period)
    return first <= on <= last


def in_force_during(period: Period, start: date, end: date) -> bool:
    """Whether the programme is in force on some date of ``start`` … ``end``."""
    first, last = in_force_window(period)
    return max(first, start) <= min(last, end)


def _first_sql(p: str) -> str:
    return f"greatest({p}.effective_from, make_date({p}.budget_year, 1, 1))"


def _last_sql(p: str) -> str:
    year_end = f"make_date({p}.budget_year, 12, 31)"
    return f"least(coalesce({p}.effective_to, {year_end}), {year_end})"


def in_force_sql(p: str, on: str) -> str:
    """SQL that is true when the programme row aliased ``p`` is in force on the date
    expression ``on`` (a parameter such as ``$2``, or a column)."""
    return f"({on}::date BETWEEN {_first_sql(p)} AND {_last_sql(p)})"


def in_force_during_sql(p: str, start: str, end: str) -> str:
    """SQL that is true when the programme row aliased ``p`` is in force on some date of
    ``start`` … ``end``."""
    return f"(greatest({_first_sql(p)}, {start}::date) <= least({_last_sql(p)}, {end}::date))"


def check_period(period: Period) -> None:
    """Refuse (422, naming the field) an effective period that reaches outside the budget
    year: on such dates the programme would be announced but could never pay a claim."""
    errors: list[dict[str, Any]] = []
    if period.effective_from.year != period.budget_year:
        errors.append(
            field_error(
                ["body", "effective_from"],
                f"{period.effective_from} is outside the budget year {period.budget_year}",
            )
        )
    if period.effective_to is not None and period.effective_to.year != period.budget_year:
        errors.append(
            field_error(
                ["body", "effective_to"],
                f"{period.effective_to} is outside the budget year {period.budget_year}",
            )
        )
    if errors:
        raise ValidationFailed(
            f"a programme's effective period lies within its budget year {period.budget_year}",
            errors=errors,
        )
