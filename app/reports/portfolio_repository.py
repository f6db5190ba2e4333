"""The portfolio report's reads: the loans outstanding on a date and, for those with
repayments dated after it, the repayments up to it (to replay them as they stood then)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

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


async def repayments_until(db: Db, *, loan_ids: Sequence[UUID], on: date) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT loan_id, paid_on, amount, prepayment_option, allocation FROM loan_repayments
           WHERE loan_id = ANY($1) AND paid_on <= $2
           ORDER BY loan_id, paid_on, created_at, id""",
        list(loan_ids),
        on,
    )
