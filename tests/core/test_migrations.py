"""Migrations: upgrade, downgrade to nothing, upgrade again, on an empty database; and the
models and the migrated schema agree (autogenerate finds nothing to do); and migrations that
fill a new column from existing rows fill it right."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrate
from app.core.clock import business_date
from app.core.db import async_url, libpq_url
from app.models import Base


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade(scratch_url):
    migrate.upgrade(scratch_url)
    tables = asyncio.run(_tables(scratch_url))
    assert {"api_keys", "audit_events", "outbox_events", "idempotency_records"} <= tables
    migrate.downgrade(scratch_url, "base")
    assert asyncio.run(_tables(scratch_url)) <= {"alembic_version"}
    migrate.upgrade(scratch_url)
    assert asyncio.run(_tables(scratch_url)) == tables


def test_models_match_migrations(scratch_url):
    migrate.upgrade(scratch_url)

    async def diff() -> list:
        async_engine = create_async_engine(async_url(scratch_url))
        try:
            async with async_engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                    )
                )
        finally:
            await async_engine.dispose()

    assert asyncio.run(diff()) == []


def test_every_stored_date_is_held_to_the_callers_range(scratch_url):
    """Each date column of the migrated schema has its range CHECK, as every model declares
    (the models-match test above cannot see CHECK constraints)."""
    migrate.upgrade(scratch_url)

    async def unchecked() -> list[str]:
        conn = await asyncpg.connect(libpq_url(scratch_url))
        try:
            rows = await conn.fetch(
                """SELECT c.table_name, c.column_name FROM information_schema.columns c
                   WHERE c.table_schema = 'public' AND c.data_type = 'date'
                     AND NOT EXISTS (
                         SELECT 1 FROM pg_constraint k
                         WHERE k.conname = 'ck_' || c.table_name || '_' || c.column_name
                                           || '_in_range')"""
            )
        finally:
            await conn.close()
        return sorted(f"{r['table_name']}.{r['column_name']}" for r in rows)

    assert asyncio.run(unchecked()) == []


def test_one_head():
    assert migrate.head_revision()


async def _loans_with_repayments(url: str) -> dict[str, uuid.UUID]:
    """Three loans at revision 0007: one repaid twice (the later posting inserted first), one
    repaid once, one never repaid. Only the two tables the backfill reads are filled, so the
    foreign keys to applications and enterprises are switched off for this session."""
    conn = await asyncpg.connect(libpq_url(url))
    loans = {name: uuid.uuid4() for name in ("twice", "once", "never")}
    try:
        await conn.execute("SET session_replication_role = replica")
        for loan_id in loans.values():
            await conn.execute(
                """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
                       district_code, industry, principal, outstanding_principal, rate_bp,
                       repayment_method, term_months, disbursed_on, maturity_date, state,
                       created_at, updated_at, version)
                   VALUES ($1, $2, $3, 'RM-1', '440305', 'I65', 1000000.00, 900000.00, 300,
                           'equal_principal', 12, DATE '2026-01-05', DATE '2027-01-05',
                           'active', now(), now(), 1)""",
                loan_id,
                uuid.uuid4(),
                uuid.uuid4(),
            )
        for loan, paid_on in (
            ("twice", date(2026, 3, 5)),
            ("twice", date(2026, 2, 5)),
            ("once", date(2026, 2, 9)),
        ):
            await conn.execute(
                """INSERT INTO loan_repayments (id, loan_id, paid_on, amount, principal_paid,
                       interest_paid, allocation, created_at)
                   VALUES ($1, $2, $3, 100.00, 100.00, 0.00, '[]', now())""",
                uuid.uuid4(),
                loans[loan],
                paid_on,
            )
    finally:
        await conn.close()
    return loans


async def _last_paid_on(url: str) -> dict[uuid.UUID, date | None]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = await conn.fetch("SELECT id, last_paid_on FROM loans")
        return {r["id"]: r["last_paid_on"] for r in rows}
    finally:
        await conn.close()


def test_0008_backfills_the_latest_repayment_date(scratch_url):
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0007")
    loans = asyncio.run(_loans_with_repayments(scratch_url))
    migrate.upgrade(scratch_url, "0008")
    expected = {
        loans["twice"]: date(2026, 3, 5),
        loans["once"]: date(2026, 2, 9),
        loans["never"]: None,
    }
    assert asyncio.run(_last_paid_on(scratch_url)) == expected
    # Down and up again: the column is dropped and filled afresh from the repayments.
    migrate.downgrade(scratch_url, "0007")
    migrate.upgrade(scratch_url)
    assert asyncio.run(_last_paid_on(scratch_url)) == expected
    migrate.downgrade(scratch_url, "base")


# -- 0010: every loan's schedule re-derived by the servicing engine -------------------------

# 1,000,000.00 at 300 bp, equal principal over 12 months from 5 January 2026: 83,333.33 a
# month (the 12th 83,333.37), the first month's interest 1,000,000 × 0.03 / 12 = 2,500.00.
_SCHEDULE_0009 = [
    (seq, date(2026 + (seq // 12), seq % 12 + 1, 5), principal, interest)
    for seq, principal, interest in [
        (1, "83333.33", "2500.00"),
        (2, "83333.33", "2291.67"),
        (3, "83333.33", "2083.33"),
        (4, "83333.33", "1875.00"),
        (5, "83333.33", "1666.67"),
        (6, "83333.33", "1458.33"),
        (7, "83333.33", "1250.00"),
        (8, "83333.33", "1041.67"),
        (9, "83333.33", "833.33"),
        (10, "83333.33", "625.00"),
        (11, "83333.33", "416.67"),
        (12, "83333.37", "208.33"),
    ]
]
# Posted under the earlier rules: the instalment on its due date; 50,000.00 on 20 February,
# which then prepaid instalment 2's principal and left its interest owing; 10,000.00 on
# 15 April, to instalment 2's interest and principal. Under the servicing engine the second
# pays instalment 2's interest first, the third penalty interest first.
_REPAYMENTS_0009 = [
    (date(2026, 2, 5), "85833.33", [(1, "2500.00", "83333.33")]),
    (date(2026, 2, 20), "50000.00", [(2, "0.00", "50000.00")]),
    (date(2026, 4, 15), "10000.00", [(2, "2291.67", "7708.33")]),
]


async def _old_shape_loan(url: str, *, repaid: bool) -> uuid.UUID:
    """A loan as revision 0009 stores it (foreign keys off: only the loan's own tables)."""
    conn = await asyncpg.connect(libpq_url(url))
    loan_id = uuid.uuid4()
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
                   district_code, industry, principal, outstanding_principal, rate_bp,
                   repayment_method, term_months, disbursed_on, maturity_date, state,
                   created_at, updated_at, version, last_paid_on)
               VALUES ($1, $2, $3, 'RM-1', '440305', 'other', 1000000.00, $4, 300,
                       'equal_principal', 12, DATE '2026-01-05', DATE '2027-01-05',
                       'active', now(), now(), 1, $5)""",
            loan_id,
            uuid.uuid4(),
            uuid.uuid4(),
            Decimal("858958.34") if repaid else Decimal("1000000.00"),
            date(2026, 4, 15) if repaid else None,
        )
        paid: dict[int, list[Decimal]] = {}
        for paid_on, amount, lines in _REPAYMENTS_0009 if repaid else []:
            for seq, interest, principal in lines:
                slot = paid.setdefault(seq, [Decimal(0), Decimal(0)])
                slot[0] += Decimal(principal)
                slot[1] += Decimal(interest)
            await conn.execute(
                """INSERT INTO loan_repayments (id, loan_id, paid_on, amount, principal_paid,
                       interest_paid, allocation, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, now())""",
                uuid.uuid4(),
                loan_id,
                paid_on,
                Decimal(amount),
                sum(Decimal(p) for _, _, p in lines),
                sum(Decimal(i) for _, i, _ in lines),
                json.dumps([{"seq": s, "interest": i, "principal": p} for s, i, p in lines]),
            )
        for seq, due, principal, interest in _SCHEDULE_0009:
            p, i = paid.get(seq, [Decimal(0), Decimal(0)])
            await conn.execute(
                """INSERT INTO loan_installments (loan_id, seq, due_date, principal, interest,
                       paid_principal, paid_interest) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                loan_id,
                seq,
                due,
                Decimal(principal),
                Decimal(interest),
                p,
                i,
            )
    finally:
        await conn.close()
    return loan_id


async def _post_under_new_rules(url: str, loan_id: uuid.UUID) -> None:
    """The same repayments posted to a fresh loan by the service's own posting path."""
    from app.config import Settings
    from app.core.context import Ctx, Principal
    from app.core.db import Db
    from app.core.roles import Role
    from app.loans import posting

    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute("SET session_replication_role = replica")
        for paid_on, amount, _ in _REPAYMENTS_0009:
            ctx = Ctx(
                db=Db(conn),
                principal=Principal(key_id=None, role=Role.CREDIT_OFFICER),
                now=datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
                settings=Settings(),
                request_id="migration-test",
            )
            await posting.repay(
                ctx,
                loan_id=loan_id,
                paid_on=paid_on,
                amount=Decimal(amount),
                option="reduce_installment",
            )
    finally:
        await conn.close()


async def _loan_state(url: str, loan_id: uuid.UUID) -> dict:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        loan = await conn.fetchrow(
            """SELECT outstanding_principal, maturity_date, state, last_paid_on FROM loans
               WHERE id = $1""",
            loan_id,
        )
        schedule = await conn.fetch(
            """SELECT seq, due_date, principal, interest, paid_principal, paid_interest,
                      paid_penalty, penalty_fen_days, penalty_to
               FROM loan_installments WHERE loan_id = $1 ORDER BY seq""",
            loan_id,
        )
        repayments = await conn.fetch(
            """SELECT paid_on, amount, principal_paid, interest_paid, penalty_interest_paid,
                      prepaid_principal, prepayment_option, allocation
               FROM loan_repayments WHERE loan_id = $1 ORDER BY paid_on""",
            loan_id,
        )
        return {
            "loan": dict(loan),
            "schedule": [dict(r) for r in schedule],
            "repayments": [dict(r) for r in repayments],
        }
    finally:
        await conn.close()


def test_0010_a_migrated_loan_equals_the_same_loan_posted_under_the_new_rules(scratch_url):
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0009")
    migrated = asyncio.run(_old_shape_loan(scratch_url, repaid=True))
    fresh = asyncio.run(_old_shape_loan(scratch_url, repaid=False))
    migrate.upgrade(scratch_url)
    asyncio.run(_post_under_new_rules(scratch_url, fresh))
    expected = asyncio.run(_loan_state(scratch_url, fresh))
    got = asyncio.run(_loan_state(scratch_url, migrated))
    assert got == expected
    # And the new rules did apply: the second repayment paid instalment 2's interest first,
    # the third penalty interest on instalment 2's principal overdue since 5 March.
    second, third = got["repayments"][1], got["repayments"][2]
    assert second["interest_paid"] == Decimal("2291.67")
    assert third["penalty_interest_paid"] > 0
    assert got["loan"]["outstanding_principal"] == Decimal("1000000.00") - sum(
        r["principal_paid"] for r in got["repayments"]
    )
    migrate.downgrade(scratch_url, "0009")
    migrate.upgrade(scratch_url)
    assert asyncio.run(_loan_state(scratch_url, migrated)) == got
    migrate.downgrade(scratch_url, "base")


async def _out_of_range_rows(url: str) -> dict[str, uuid.UUID]:
    """Rows of revision 0008 holding dates no read can serve, as callers could once send them.
    Foreign keys are switched off for this session: only the dated rows matter."""
    ids = {name: uuid.uuid4() for name in ("pledge", "asset", "program", "loan")}
    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            """INSERT INTO pledges (id, application_id, ip_asset_id, state, registration_no,
                   registered_on, created_at, updated_at, version)
               VALUES ($1, $2, $3, 'registered', 'Y1', '-infinity', now(), now(), 2)""",
            ids["pledge"],
            uuid.uuid4(),
            ids["asset"],
        )
        await conn.execute(
            """INSERT INTO ip_assets (id, kind, number, title, holder_enterprise_id,
                   protection_expires_on, created_at)
               VALUES ($1, 'invention_patent', '201710601862.3', 'T', $2, 'infinity', now())""",
            ids["asset"],
            uuid.uuid4(),
        )
        await conn.execute(
            """INSERT INTO subsidy_programs (id, district_code, kind, name, share, annual_budget,
                   budget_year, effective_from, effective_to, committed, created_at, version)
               VALUES ($1, '440307', 'interest_subsidy', 'P', 0.5, 1000.00, 2026,
                       '0001-01-01', 'infinity', 0, now(), 1)""",
            ids["program"],
        )
        await conn.execute(
            """INSERT INTO loans (id, application_id, enterprise_id, relationship_manager_id,
                   district_code, industry, principal, outstanding_principal, rate_bp,
                   repayment_method, term_months, disbursed_on, maturity_date, state,
                   created_at, updated_at, version)
               VALUES ($1, $2, $3, 'RM-1', '440305', 'I65', 1000.00, 1000.00, 300,
                       'equal_principal', 12, '0001-01-01', '9999-12-31', 'active',
                       now(), now(), 1)""",
            ids["loan"],
            uuid.uuid4(),
            uuid.uuid4(),
        )
        await conn.execute(
            """INSERT INTO calendar_days (day, is_working, kind, source, updated_at)
               VALUES ('9999-12-31', true, 'workday', 'admin', now())"""
        )
        await conn.execute(
            """INSERT INTO lpr_fixings (fixing_date, one_year_bp, five_year_bp, created_at,
                   updated_at, version) VALUES ('-infinity', 300, 350, now(), now(), 1)"""
        )
    finally:
        await conn.close()
    return ids


async def _stored_dates(url: str, ids: dict[str, uuid.UUID]) -> dict[str, object]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        return {
            "registered_on": await conn.fetchval(
                "SELECT registered_on FROM pledges WHERE id = $1", ids["pledge"]
            ),
            "protection_expires_on": await conn.fetchval(
                "SELECT protection_expires_on FROM ip_assets WHERE id = $1", ids["asset"]
            ),
            "program": tuple(
                await conn.fetchrow(
                    "SELECT effective_from, effective_to FROM subsidy_programs WHERE id = $1",
                    ids["program"],
                )
            ),
            "loan": tuple(
                await conn.fetchrow(
                    "SELECT disbursed_on, maturity_date FROM loans WHERE id = $1", ids["loan"]
                )
            ),
            "far_calendar_days": await conn.fetchval(
                "SELECT count(*) FROM calendar_days WHERE day > DATE '2100-12-31'"
            ),
            "far_fixings": await conn.fetchval(
                "SELECT count(*) FROM lpr_fixings WHERE fixing_date < DATE '1990-01-01'"
            ),
        }
    finally:
        await conn.close()


async def _insert_infinity(url: str) -> None:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute(
            """UPDATE pledges SET registered_on = '-infinity'
               WHERE id = (SELECT id FROM pledges LIMIT 1)"""
        )
    finally:
        await conn.close()


def test_0009_repairs_stored_dates_and_refuses_new_ones(scratch_url):
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0008")
    ids = asyncio.run(_out_of_range_rows(scratch_url))
    migrate.upgrade(scratch_url, "0009")
    assert asyncio.run(_stored_dates(scratch_url, ids)) == {
        "registered_on": date(1990, 1, 1),  # clamped: a registered pledge keeps a date
        "protection_expires_on": None,  # infinity: no end
        "program": (date(1990, 1, 1), None),
        "loan": (date(1990, 1, 1), date(2100, 12, 31)),
        "far_calendar_days": 0,  # deleted: no calendar holds that date
        "far_fixings": 0,
    }
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="registered_on_in_range"):
        asyncio.run(_insert_infinity(scratch_url))
    migrate.downgrade(scratch_url, "0008")
    asyncio.run(_insert_infinity(scratch_url))  # the constraint went with the downgrade
    migrate.upgrade(scratch_url, "0009")
    assert asyncio.run(_stored_dates(scratch_url, ids))["registered_on"] == date(1990, 1, 1)
    migrate.downgrade(scratch_url, "base")


def test_0009_the_repaired_rows_read_through_the_api(scratch_url, settings):
    """Reads of what the migration repaired answer 200 through the service itself."""
    import httpx

    from app.core.db import Database, build_engine
    from app.core.runtime import Runtime
    from app.main import attach, create_app
    from tests.conftest import FixedClock, _issue_key

    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0008")
    ids = asyncio.run(_out_of_range_rows(scratch_url))
    migrate.upgrade(scratch_url)

    async def read() -> dict[str, httpx.Response]:
        engine = build_engine(scratch_url, settings, pool_size=2)
        runtime = Runtime(
            settings=settings,
            database=Database(engine),
            clock=FixedClock(datetime.now(UTC)),
            owns_database=False,
        )
        app = create_app(settings, listen=False)
        attach(app, runtime)
        try:
            async with runtime.database.connection() as db, db.transaction():
                admin = await _issue_key(db, settings, runtime.clock, "admin", None)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                return {
                    "asset": await http.get(f"/v1/ip-assets/{ids['asset']}", headers=admin),
                    "program": await http.get(
                        f"/v1/subsidy-programs/{ids['program']}", headers=admin
                    ),
                    "programs": await http.get("/v1/subsidy-programs", headers=admin),
                    "fixings": await http.get("/v1/lpr", headers=admin),
                }
        finally:
            await engine.dispose()

    answers = asyncio.run(read())
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["asset"].json()["protection_expires_on"] is None
    # 0009 clamps 0001-01-01 to 1990-01-01; 0011 then brings it into the budget year, 2026.
    assert answers["program"].json()["effective_from"] == "2026-01-01"
    migrate.downgrade(scratch_url, "base")


def _band(days_past_due: int) -> str:
    # SPEC 3.6: 0 / 1–90 / 91–270 / 271–360 / over 360.
    for first, name in ((361, "loss"), (271, "doubtful"), (91, "substandard")):
        if days_past_due >= first:
            return name
    return "special_mention" if days_past_due >= 1 else "normal"


async def _classes_and_sweep(url: str, ids: list[uuid.UUID], now: datetime) -> tuple:
    """Each loan's stored class and review date, and what a sweep at ``now`` announces."""
    from app.config import Settings
    from app.core.context import Ctx, Principal
    from app.core.db import Db
    from app.core.roles import Role
    from app.loans import sweep

    conn = await asyncpg.connect(libpq_url(url))
    try:
        stored = {
            r["id"]: (r["classification"], r["classification_review_on"])
            for r in await conn.fetch(
                "SELECT id, classification, classification_review_on FROM loans WHERE id = ANY($1)",
                ids,
            )
        }
        ctx = Ctx(
            db=Db(conn),
            principal=Principal(key_id=None, role=Role.CREDIT_OFFICER),
            now=now,
            settings=Settings(),
            request_id="migration-test",
        )
        transaction = conn.transaction()
        await transaction.start()
        _, changed = await sweep.review(ctx)
        await transaction.rollback()  # the stored classes stay as the upgrade set them
        return stored, changed, [(e.type, e.data["classification"]) for e in ctx.events]
    finally:
        await conn.close()


def test_0010_keeps_each_loans_class_as_of_the_upgrade(scratch_url):
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url, "0009")
    # Both loans' instalment due 5 February (unpaid) or 5 March (part paid) 2026 is unpaid
    # today: each is past due, so not normal, when the upgrade runs.
    unpaid = asyncio.run(_old_shape_loan(scratch_url, repaid=False))
    part_paid = asyncio.run(_old_shape_loan(scratch_url, repaid=True))
    migrate.upgrade(scratch_url)
    now = datetime.now(UTC)
    today = business_date(now)
    oldest = {unpaid: date(2026, 2, 5), part_paid: date(2026, 3, 5)}
    stored, changed, events = asyncio.run(_classes_and_sweep(scratch_url, list(oldest), now))
    for loan_id, due in oldest.items():
        days = (today - due).days
        cls, review_on = stored[loan_id]
        assert cls == _band(days) != "normal"
        # Reviewed again on the first day of the next band (or never, once a loss).
        nxt = next((first for first in (1, 91, 271, 361) if first > days), None)
        assert review_on == (due + timedelta(days=nxt) if nxt else date(9999, 12, 31))
    # Nothing changed with the upgrade: the sweep announces nothing.
    assert (changed, events) == (0, [])
    # On the next band's first day the sweep announces the change, once.
    review_on = min(r for _, r in stored.values())
    if review_on < date(9999, 12, 31):
        later = datetime.combine(review_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)
        _, changed, events = asyncio.run(_classes_and_sweep(scratch_url, list(oldest), later))
        assert changed == 1 and events[0][0] == "loan.classification_changed"
