"""A pool as the service hands it out to the tape export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class TapeHeader:
    """What a tape export needs of its pool before it streams: the cut-off its facts are
    stated at, when the pool was locked (its valuations are those of then; None while open)
    and how many members it had when the export began (``X-Tape-Rows``)."""

    cut_off_date: date
    locked_at: datetime | None
    loan_count: int
