"""The portfolio report's read: the loans outstanding on a date (the loans service gives each
one's schedule as it stood then)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from app.core.db import Db
from app.loans.repository import LOAN_COLUMNS, SCHEDULE


async def loans_on(db: Db, *, on: date, scope: str, args: Sequence[Any]) -> list[asyncpg.Record]:
    """Loans disbursed by ``on`` and not paid off by then (``scope``: more conditions, on
    parameters from $2)."""
    return await db.fetch(
        f"""SELECT {LOAN_COLUMNS}, {SCHEDULE} FROM loans l
            WHERE l.disbursed_on <= $1 AND (l.paid_off_on IS NULL OR l.paid_off_on > $1)
            {scope}""",
        on,
        *args,
    )
