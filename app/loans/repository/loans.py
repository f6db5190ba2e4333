from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from app.core import journal
from app.core.db import Db
from app.models.loan import LoanState
from app.models.pledge import PledgeState
from app.subsidies.in_force import in_force_sql

LOAN_COLUMNS = """l.id, l.application_id, l.enterprise_id, l.relationship_manager_id,
    l.district_code, l.industry, l.principal, l.outstanding_principal, l.rate_bp,
    l.repayment_method, l.term_months, l.disbursed_on, l.maturity_date, l.state, l.paid_off_on,
    l.defaulted_on, l.default_reason, l.securitized_on, l.last_paid_on, l.classification,
    l.classification_review_on, l.created_at, l.updated_at, l.version"""

# The schedule as one JSON text of integers, by ``seq`` (parsed by ``app.loans.rows.schedule``):
# per instalment ``[seq, due_date, principal, interest, paid_principal, paid_interest,
# paid_penalty, penalty_fen_days, penalty_to]``, money in fen and dates as day numbers
# (``date.toordinal``; null for no ``penalty_to``). Decoding two dozen rows of binary numerics
# cost the driver more than the rest of a posting's read, and a text of numerics and ISO dates
# split in Python still cost twice the engine's posting; this text, decoded by orjson, costs
# less than half of that (36 instalments: 19 µs, was 43), and PostgreSQL makes it for about what
# it made the other (~50 µs).
# Fen are bigints, as the penalty base (``penalty_fen_days``) is: exact for every loan the
# service accepts (at most ``app.core.schemas.LOAN_AMOUNT_MAX``).
_DAY = "- date '0001-01-01' + 1"  # a date's day number, as Python's ``date.toordinal``
SCHEDULE = f"""(SELECT '[[' || string_agg(concat_ws(',', i.seq, i.due_date {_DAY},
            (i.principal * 100)::bigint, (i.interest * 100)::bigint,
            (i.paid_principal * 100)::bigint, (i.paid_interest * 100)::bigint,
            (i.paid_penalty * 100)::bigint, i.penalty_fen_days,
            coalesce((i.penalty_to {_DAY})::text, 'null')), '],[' ORDER BY i.seq) || ']]'
     FROM loan_installments i WHERE i.loan_id = l.id) AS schedule"""

_READ = f"SELECT {LOAN_COLUMNS}, {SCHEDULE} FROM loans l WHERE l.id = $1"

# What a repayment posting needs to know besides the loan: whether the district has an interest
# subsidy programme in force on the value date (``app.subsidies.in_force``, the one definition
# claims and pricing read too), in which case the posting also claims and must hold the
# programme's lock (see ``app.subsidies.claims``).
_READ_FOR_POSTING = f"""SELECT {LOAN_COLUMNS}, {SCHEDULE},
    EXISTS (SELECT 1 FROM subsidy_programs p
            WHERE p.district_code = l.district_code AND p.kind = 'interest_subsidy'
              AND {in_force_sql("p", "$2")})
      AS subsidised
FROM loans l WHERE l.id = $1"""

# The lock and the read in one statement. The statement's snapshot is taken before it may wait
# for the lock, so when a concurrent change committed meanwhile, the read is of the loan before
# it: the locked row's version (the latest, once the lock is ours) then differs from the one
# read, and the loan is read again, under the lock, by a statement of its own.
_LOCK_AND_READ = f"""WITH locked AS (SELECT id, version FROM loans WHERE id = $1 FOR UPDATE)
SELECT {LOAN_COLUMNS}, {SCHEDULE}, locked.version AS locked_version
FROM loans l JOIN locked ON locked.id = l.id WHERE l.id = $1"""


async def get(db: Db, loan_id: UUID, *, lock: bool = False) -> asyncpg.Record | None:
    if not lock:
        return await db.fetchrow(_READ, loan_id)
    row = await db.fetchrow(_LOCK_AND_READ, loan_id)
    if row is None or row["locked_version"] == row["version"]:
        return row
    return await db.fetchrow(_READ, loan_id)


async def get_for_posting(db: Db, loan_id: UUID, paid_on: date) -> asyncpg.Record | None:
    """The loan, unlocked, and whether a posting dated ``paid_on`` may claim a subsidy."""
    return await db.fetchrow_keyed(_READ_FOR_POSTING, loan_id, paid_on)


async def repayments_until(db: Db, loan_ids: Sequence[UUID], until: date) -> list[asyncpg.Record]:
    """The loans' repayments dated on or before ``until``, each loan's in the order they were
    posted, with ``loan_id``."""
    return await db.fetch(
        """SELECT loan_id, paid_on, amount, prepayment_option, allocation FROM loan_repayments
           WHERE loan_id = ANY ($1::uuid[]) AND paid_on <= $2
           ORDER BY loan_id, paid_on, created_at, id""",
        list(loan_ids),
        until,
    )


async def page(db: Db, *, where: str, args: list[Any], limit_param: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT {LOAN_COLUMNS}, {SCHEDULE} FROM loans l {where} "
        f"ORDER BY l.id DESC LIMIT {limit_param}",
        *args,
    )


async def application_for_disbursement(db: Db, application_id: UUID) -> dict[str, Any] | None:
    """The application, locked, with the state of its pledges, locked too.

    Two statements, in this order: the application first (every move of an application, and a
    pledge release, which holds it FOR SHARE, takes it before any pledge), then its pledges,
    read in a snapshot taken only once the application is ours. A release committed while we
    waited is therefore seen, and none can commit between this check and the loan's insert: a
    release waits for the application (and its pledge) until the disbursement has committed.
    """
    app = await db.fetchrow(
        """SELECT a.id, a.state, a.version, a.enterprise_id, a.relationship_manager_id,
                  a.district_code, a.industry, a.approved_amount, a.rate_bp, a.term_months,
                  a.reference,
                  (SELECT min(c.received_at) FROM approval_clocks c
                   WHERE c.application_id = a.id) AS first_received_at
           FROM applications a WHERE a.id = $1 FOR UPDATE OF a""",
        application_id,
    )
    if app is None:
        return None
    pledges = await db.fetch(
        """SELECT p.id, p.state FROM pledges p WHERE p.application_id = $1
           ORDER BY p.id FOR UPDATE""",
        application_id,
    )
    return {
        **dict(app),
        "unregistered": [
            p["id"]
            for p in pledges
            if p["state"] not in (PledgeState.REGISTERED, PledgeState.CANCELLED)
        ],
        "registered": sum(1 for p in pledges if p["state"] == PledgeState.REGISTERED),
    }


async def insert_loan(
    db: Db,
    *,
    params: journal.Params,
    application_move: str,
    loan: dict[str, Any],
    installments: list[tuple[int, date, Decimal, Decimal]],
) -> bool:
    """Create ``loan`` and its schedule in one statement with ``application_move`` (the CTE
    ``app`` of ``app.applications.repository.disbursement_move``, over ``params``): nothing is
    written unless the application moved. False when it did not."""
    p = {name: params.add(loan[name]) for name in ("id", *_LOAN_INSERTED)}
    columns = [p[name] for name in _LOAN_INSERTED]
    seqs, dues, principals, interests = (params.add([i[n] for i in installments]) for n in range(4))
    row = await db.fetchrow(
        f"""WITH {application_move},
           loan AS (
               INSERT INTO loans (id, application_id, {", ".join(_LOAN_INSERTED)},
                   outstanding_principal, state, updated_at, version)
               SELECT {p["id"]}, app.id, {", ".join(columns)}, {p["principal"]},
                      '{LoanState.ACTIVE}', {p["created_at"]}, 1
               FROM app
               RETURNING id
           ),
           schedule AS (
               INSERT INTO loan_installments (loan_id, seq, due_date, principal, interest,
                                              paid_principal, paid_interest)
               SELECT loan.id, s.seq, s.due_date, s.principal, s.interest, 0, 0
               FROM loan, unnest({seqs}::smallint[], {dues}::date[], {principals}::numeric[],
                                 {interests}::numeric[])
                    AS s(seq, due_date, principal, interest)
           )
           SELECT id FROM loan""",
        *params.values,
    )
    return row is not None


_LOAN_INSERTED = (
    "enterprise_id",
    "relationship_manager_id",
    "district_code",
    "industry",
    "principal",
    "rate_bp",
    "repayment_method",
    "term_months",
    "disbursed_on",
    "maturity_date",
    "created_at",
    "created_by",
)


async def mark_defaulted(
    db: Db,
    *,
    loan_id: UUID,
    version: int,
    on: date,
    reason: str,
    now: datetime,
    classification: str,
    review_on: date,
) -> bool:
    row = await db.fetchrow(
        f"""UPDATE loans SET state = '{LoanState.DEFAULTED}', defaulted_on = $3,
                  default_reason = $4, updated_at = $5, classification = $6,
                  classification_review_on = $7, version = version + 1
           WHERE id = $1 AND version = $2 AND state = '{LoanState.ACTIVE}' RETURNING id""",
        loan_id,
        version,
        on,
        reason,
        now,
        classification,
        review_on,
    )
    return row is not None


async def lock_for_review(db: Db, *, today: date, limit: int) -> list[UUID]:
    """Loans whose class may have changed by ``today``, locked; those another transaction
    holds (a posting, or another worker's sweep) are skipped: their holder sees to them."""
    rows = await db.fetch(
        f"""SELECT id FROM loans
           WHERE state <> '{LoanState.PAID_OFF}'
             AND (classification_review_on IS NULL OR classification_review_on <= $1)
           ORDER BY classification_review_on NULLS FIRST, id
           LIMIT $2 FOR UPDATE SKIP LOCKED""",
        today,
        limit,
    )
    return [r["id"] for r in rows]


async def read_many(db: Db, ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """The loans (in no particular order); under the sweep, read in a snapshot taken after
    they were locked."""
    return await db.fetch(
        f"SELECT {LOAN_COLUMNS}, {SCHEDULE} FROM loans l WHERE l.id = ANY($1)", ids
    )


async def set_classifications(
    db: Db,
    *,
    ids: Sequence[UUID],
    classes: Sequence[str],
    review_on: Sequence[date],
    changed: Sequence[bool],
    now: datetime,
) -> None:
    """Store each loan's class and next review date; a loan whose class changed moves to a
    new version (a posting that read it before then is made again, and sees the change)."""
    await db.execute(
        """UPDATE loans l SET classification = u.classification,
                  classification_review_on = u.review_on,
                  version = l.version + CASE WHEN u.changed THEN 1 ELSE 0 END,
                  updated_at = CASE WHEN u.changed THEN $5 ELSE l.updated_at END
           FROM unnest($1::uuid[], $2::text[], $3::date[], $4::bool[])
                AS u(id, classification, review_on, changed)
           WHERE l.id = u.id""",
        list(ids),
        list(classes),
        list(review_on),
        list(changed),
        now,
    )


async def mark_securitized(db: Db, *, pool_id: UUID, on: date, now: datetime) -> None:
    """The pool's loans were transferred to its SPV on ``on``."""
    await db.execute(
        """UPDATE loans SET securitized_on = $2, updated_at = $3, version = version + 1
           WHERE id IN (SELECT loan_id FROM pool_loans WHERE pool_id = $1)""",
        pool_id,
        on,
        now,
    )
