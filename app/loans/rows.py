"""Between the database's rows and the servicing core's values.

The schedule is read as one JSON text (``app.loans.repository.SCHEDULE``): per instalment
``[seq, due_date, principal, interest, paid_principal, paid_interest, paid_penalty,
penalty_fen_days, penalty_to]``, by ``seq``, money in fen and dates as day numbers
(``date.fromordinal``), ``penalty_to`` null when there is none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from app.loans.ledger import (
    Instalment,
    Posting,
    PrepaymentOption,
    Repayment,
    Schedule,
    Terms,
    to_fen,
    to_money,
    uplift_fraction,
)
from app.loans.schedule import RepaymentMethod


def schedule(text: str | None) -> Schedule:
    if not text:
        return ()
    day = date.fromordinal
    return tuple(
        [
            Instalment(seq, day(due), p, i, pp, pi, ppen, base, None if to is None else day(to))
            for seq, due, p, i, pp, pi, ppen, base, to in orjson.loads(text)
        ]
    )


def terms(loan: Mapping[str, Any], uplift: Decimal) -> Terms:
    return Terms(
        principal=to_fen(Decimal(loan["principal"])),
        rate_bp=loan["rate_bp"],
        method=RepaymentMethod(loan["repayment_method"]),
        disbursed_on=loan["disbursed_on"],
        term_months=loan["term_months"],
        penalty_uplift=uplift_fraction(uplift),
    )


def repayments(records: Iterable[Mapping[str, Any]]) -> list[Repayment]:
    """Repayments as stored (``paid_on``, ``amount``, ``prepayment_option``), in posting order."""
    return [
        Repayment(
            r["paid_on"], to_fen(Decimal(r["amount"])), PrepaymentOption(r["prepayment_option"])
        )
        for r in records
    ]


def allocation_json(posting: Posting) -> list[dict[str, Any]]:
    return [
        {
            "seq": line.seq,
            "penalty_interest": f"{to_money(line.penalty_interest):.2f}",
            "interest": f"{to_money(line.interest):.2f}",
            "principal": f"{to_money(line.principal):.2f}",
        }
        for line in posting.lines
    ]


def instalment_params(rows: Sequence[Instalment]) -> list[tuple[Any, ...]]:
    """Rows as written: seq, due_date, the five amounts as Decimals, fen-days, penalty_to.
    Migration 0010 writes the replayed schedules so (postings send fen instead)."""
    return [
        (
            i.seq,
            i.due_date,
            to_money(i.principal),
            to_money(i.interest),
            to_money(i.paid_principal),
            to_money(i.paid_interest),
            to_money(i.paid_penalty),
            i.penalty_base,
            i.penalty_to,
        )
        for i in rows
    ]


def as_allocated(stored: Schedule, records: Iterable[Mapping[str, Any]]) -> Schedule:
    """The stored schedule with only the given repayments' stored allocations paid: how a loan
    closed before the servicing engine is shown as of a date before its payoff."""
    paid: dict[int, list[int]] = {i.seq: [0, 0, 0] for i in stored}
    for record in records:
        allocation = record["allocation"]
        lines = json.loads(allocation) if isinstance(allocation, str) else allocation
        for line in lines:
            slot = paid.setdefault(line["seq"], [0, 0, 0])
            slot[0] += to_fen(Decimal(line["principal"]))
            slot[1] += to_fen(Decimal(line["interest"]))
            slot[2] += to_fen(Decimal(line.get("penalty_interest", "0")))
    return tuple(
        i._replace(
            paid_principal=paid[i.seq][0], paid_interest=paid[i.seq][1], paid_penalty=paid[i.seq][2]
        )
        for i in stored
    )
