"""The repayment posting's one statement: the loan moved to its next version only if still at
the one read, the instalments it changed, those a shortened term drops, the repayment, and the
request's audit entries and events folded in (``app.core.outbox.fold``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import shift_params
from app.models.loan import LoanState

# An instalment as written: seq, due_date, principal, interest, paid_principal, paid_interest,
# paid_penalty (fen), penalty_fen_days, penalty_to (``app.loans.ledger.Instalment``).
Instalment = tuple[int, date, int, int, int, int, int, int, date | None]


async def record_repayment(
    db: Db,
    *,
    loan_id: UUID,
    version: int,
    repayment: dict[str, Any],
    changed: Sequence[Instalment],
    last_seq: int,
    loan: dict[str, Any],
    folded: str = "",
    folded_args: Sequence[Any] = (),
) -> asyncpg.Record | None:
    """Post the repayment in one statement, only if the loan is still at ``version``: every
    other part (the instalments it changed, those a shortened term drops, the repayment, the
    ``folded`` CTEs of the request's audit entries and events) reads the loan's update, so none
    is written without it. Returns None, having written nothing, when the loan has moved on.
    The update waits for a concurrent holder of the loan's lock and then sees its outcome.

    Amounts are whole fen, turned into money by the statement (``_FEN``): the repayment's parts
    (its ``amount`` as sent, a Decimal) and the instalments' amounts."""
    args = _posting_args(loan_id, version, repayment, loan, last_seq)
    paid = _paid_cte(args, changed)
    return await db.fetchrow_keyed(
        f"""WITH {_UPDATED},
           {paid}{_DROPPED},
           {_REPAYMENT}{"," if folded else ""}
           {shift_params(folded, len(args))}
           SELECT * FROM updated""",
        *args,
        *folded_args,
    )


def _posting_args(
    loan_id: UUID, version: int, repayment: dict[str, Any], loan: dict[str, Any], last_seq: int
) -> list[Any]:
    """$1 to $19 of the CTEs below."""
    return [
        loan_id,
        version,
        repayment["id"],
        repayment["paid_on"],
        repayment["amount"],
        repayment["principal_paid"],
        repayment["interest_paid"],
        repayment["allocation"],
        loan["now"],
        repayment["created_by"],
        loan["paid_off_on"],
        repayment["penalty_interest_paid"],
        repayment["prepaid_principal"],
        repayment["prepayment_option"],
        loan["maturity_date"],
        loan["classification"],
        loan["classification_review_on"],
        last_seq,
        repayment["installments_before"],
    ]


# Fen, sent as bigints, as money: the driver encodes an integer for a fraction of what a
# Decimal costs it (a prepayment writes a hundred amounts).
_FEN = "({}::bigint * 0.01)"

# The loan, moved to its next version only if still at the one read ($2).
_UPDATED = f"""updated AS (
               UPDATE loans SET outstanding_principal = outstanding_principal - {_FEN.format("$6")},
                      state = CASE WHEN $11::date IS NULL THEN state
                                   ELSE '{LoanState.PAID_OFF}' END,
                      paid_off_on = $11, last_paid_on = $4, updated_at = $9,
                      maturity_date = $15, classification = $16,
                      classification_review_on = $17, version = version + 1
               WHERE id = $1 AND version = $2
               RETURNING id, version, updated_at
           )"""

# The instalments after the last one the posting kept (a shortened term or a payoff).
_DROPPED = """dropped AS (
               DELETE FROM loan_installments i USING updated
               WHERE i.loan_id = $1 AND i.seq > $18
           )"""

_REPAYMENT = f"""repayment AS (
               INSERT INTO loan_repayments (id, loan_id, paid_on, amount, principal_paid,
                                            interest_paid, penalty_interest_paid,
                                            prepaid_principal, prepayment_option, allocation,
                                            installments_before, created_at, created_by)
               SELECT $3, updated.id, $4, $5, {_FEN.format("$6")}, {_FEN.format("$7")},
                      {_FEN.format("$12")}, {_FEN.format("$13")}, $14, $8::jsonb, $19, $9, $10
               FROM updated
           )"""


def _paid_cte(args: list[Any], changed: Sequence[Instalment]) -> str:
    """The CTE ``paid`` (with its trailing comma) that writes the instalments ``changed``, on
    parameters appended to ``args``; nothing when none changed.

    A VALUES list of their own length, not arrays: PostgreSQL plans a prepared statement once
    (a generic plan) only when that plan is not costlier than one made for the values at hand,
    and an array of unknown length made it so, which had the statement planned afresh at every
    posting. One text per number of instalments changed (mostly one or two; a prepayment
    re-amortises the rest) keeps the plan."""
    if not changed:
        return ""
    rows = []
    for row in changed:
        first = len(args) + 1
        args.extend(row[:1] + row[2:])
        amounts = ", ".join(_FEN.format(f"${first + n}") for n in range(1, 6))
        rows.append(f"(${first}::smallint, {amounts}, ${first + 6}::bigint, ${first + 7}::date)")
    return f"""paid AS (
               UPDATE loan_installments i
               SET principal = x.principal, interest = x.interest,
                   paid_principal = x.paid_principal, paid_interest = x.paid_interest,
                   paid_penalty = x.paid_penalty, penalty_fen_days = x.fen_days,
                   penalty_to = x.penalty_to
               FROM updated, (VALUES {", ".join(rows)}) AS x(seq, principal, interest,
                    paid_principal, paid_interest, paid_penalty, fen_days, penalty_to)
               WHERE i.loan_id = $1 AND i.seq = x.seq
           ),
           """
