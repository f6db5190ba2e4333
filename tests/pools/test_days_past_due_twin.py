"""The pools' SQL reads a loan's days past due, balance and term at a cut-off from what the
database holds now, undoing the repayments dated after it (``app.pools.repository._FACTS``);
the servicing engine computes them by replaying the repayments up to the cut-off. Over random
loans, methods and payment sequences posted by the engine, the two agree on every cut-off."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.db import Db
from app.loans import payoff, rows
from app.loans.accrual import days_past_due
from app.loans.ledger import (
    Overpayment,
    PayoffRequired,
    PrepaymentOption,
    Repayment,
    Terms,
    outstanding_principal,
    to_money,
)
from app.loans.schedule import RepaymentMethod
from app.loans.servicing import initial_schedule, post, replay
from app.pools import repository as pools_repository


@st.composite
def posted_loans(draw):
    terms = Terms(
        principal=draw(st.integers(1_000_00, 5_000_000_00)),
        rate_bp=draw(st.integers(0, 1800)),
        method=draw(st.sampled_from(list(RepaymentMethod))),
        disbursed_on=draw(st.dates(date(2024, 1, 1), date(2026, 6, 30))),
        term_months=draw(st.integers(1, 18)),
    )
    schedule = initial_schedule(terms)
    on = terms.disbursed_on
    posted = []
    for _ in range(draw(st.integers(0, 6))):
        on += timedelta(days=draw(st.integers(0, 70)))
        total = payoff.quote(schedule, on, terms).amount
        if total <= 0:
            break
        amount = draw(st.integers(1, total))
        option = draw(st.sampled_from(list(PrepaymentOption)))
        try:
            posting = post(schedule, terms, Repayment(on, amount, option))
        except (Overpayment, PayoffRequired):
            continue
        posted.append((Repayment(on, amount, option), posting))
        schedule = posting.schedule
        if posting.paid_off:
            break
    cut_off = terms.disbursed_on + timedelta(days=draw(st.integers(0, 600)))
    return terms, schedule, posted, cut_off


async def _store(conn, terms: Terms, schedule, posted) -> uuid.UUID:
    loan_id = uuid.uuid4()
    paid_off = bool(posted) and posted[-1][1].paid_off
    await conn.execute(
        """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
               district_code, industry, principal, outstanding_principal, rate_bp,
               repayment_method, term_months, disbursed_on, maturity_date, state, paid_off_on,
               created_at, updated_at, version)
           VALUES ($1, $2, $3, 'RM-1', '440307', 'other', $4, $5, $6, $7, $8, $9, $10, $11,
                   $12, now(), now(), 1)""",
        loan_id,
        uuid.uuid4(),
        uuid.uuid4(),
        to_money(terms.principal),
        to_money(outstanding_principal(schedule)),
        terms.rate_bp,
        terms.method.value,
        terms.term_months,
        terms.disbursed_on,
        schedule[-1].due_date,
        "paid_off" if paid_off else "active",
        posted[-1][0].paid_on if paid_off else None,
    )
    await conn.executemany(
        """INSERT INTO loan_installments (loan_id, seq, due_date, principal, interest,
               paid_principal, paid_interest, paid_penalty, penalty_fen_days, penalty_to)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        [(loan_id, *values) for values in rows.instalment_params(schedule)],
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    installments = len(initial_schedule(terms))
    for n, (repayment, posting) in enumerate(posted):
        await conn.execute(
            """INSERT INTO loan_repayments (id, loan_id, paid_on, amount, principal_paid,
                   interest_paid, penalty_interest_paid, prepaid_principal, prepayment_option,
                   allocation, installments_before, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)""",
            uuid.uuid4(),
            loan_id,
            repayment.paid_on,
            to_money(repayment.amount),
            to_money(posting.principal_paid),
            to_money(posting.interest_paid),
            to_money(posting.penalty_paid),
            to_money(posting.prepaid_principal),
            repayment.option.value,
            json.dumps(rows.allocation_json(posting)),
            installments,
            start + timedelta(seconds=n),
        )
        installments = len(posting.schedule)
    return loan_id


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=posted_loans())
async def test_sql_cut_off_facts_agree_with_the_engine(conn, case):
    terms, schedule, posted, cut_off = case
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        # Only the loan's own tables are filled: foreign keys are not checked meanwhile.
        await conn.execute("SET LOCAL session_replication_role = replica")
        loan_id = await _store(conn, terms, schedule, posted)
        facts = await pools_repository.loan_facts(
            Db(conn), cut_off=cut_off, as_of=datetime.now(UTC), loan_id=loan_id
        )
    finally:
        await savepoint.rollback()
    assert facts is not None
    then, _ = replay(terms, [r for r, _ in posted if r.paid_on <= cut_off])
    assert facts.days_past_due == days_past_due(then, cut_off)
    assert facts.cut_off_balance == to_money(outstanding_principal(then))
    # A shortened term or a payoff after the cut-off is undone too.
    assert facts.remaining_months == sum(1 for i in then if i.due_date > cut_off)
    assert facts.maturity_date == then[-1].due_date
