"""When to try a failed delivery again: the retry schedule with jitter, and ``Retry-After``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A receiver may ask for a pause, not for its events to be parked indefinitely.
MAX_RETRY_AFTER_S = 86_400.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait, from a ``Retry-After`` header (delay-seconds or an HTTP date); None
    when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_S)


def next_attempt_at(
    *,
    attempts_made: int,
    now: datetime,
    schedule: Sequence[float],
    jitter: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``attempts_made`` failed attempts; None once the schedule is
    spent (the delivery has failed). A ``Retry-After`` longer than the schedule's delay wins."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    delay = float(schedule[attempts_made - 1]) * (1 + (rng or random).uniform(-jitter, jitter))
    if retry_after_s is not None and retry_after_s > delay:
        delay = retry_after_s
    return now + timedelta(seconds=delay)
