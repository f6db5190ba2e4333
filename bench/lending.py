"""Quoting and repayment posting under load (HTTP, against the floor).

The loans and applications they need are made the way a bank makes them, through the API, by
an in-process client on the bench database before the load starts; the repayment book is then
grown to the size of the run by copying those loans in SQL, so that each request posts an
ordinary instalment payment to a loan of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.clock import business_date
from app.core.roles import Role
from app.core.runtime import Runtime
from app.main import attach, create_app
from bench.applications import _enterprise_with_assets
from bench.harness import Request
from bench.setup import BenchSession

RM = "RM-LENDING"
_QUOTED_APPLICATIONS = 200


class _Desk:
    """The API in process, with a key for each role the seeding needs."""

    def __init__(self, session: BenchSession, client: httpx.AsyncClient) -> None:
        self.session = session
        self.client = client
        self.headers: dict[Role, dict[str, str]] = {}

    async def keys(self) -> None:
        for role, subject in (
            (Role.ADMIN, None),
            (Role.RELATIONSHIP_MANAGER, RM),
            (Role.CREDIT_OFFICER, None),
        ):
            key = await self.session.key(role, subject)
            self.headers[role] = {"Authorization": f"Bearer {key}"}

    async def call(self, role: Role, method: str, path: str, body: Any = None) -> dict:
        response = await self.client.request(method, path, json=body, headers=self.headers[role])
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


async def _with_desk(session: BenchSession, work: Any) -> Any:
    app = create_app(session.settings, listen=False)
    attach(app, Runtime(settings=session.settings, database=session.database, owns_database=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        desk = _Desk(session, client)
        await desk.keys()
        return await work(desk)


async def _under_review(desk: _Desk, count: int, today: str) -> list[str]:
    """``count`` applications under review, each pledging a valued patent of its own."""
    enterprise, assets = await _enterprise_with_assets(desk.session, count)
    await desk.call(
        Role.ADMIN, "PUT", f"/v1/lpr/{today}", {"one_year_bp": 300, "five_year_bp": 350}
    )
    ids = []
    for asset in assets:
        await desk.call(
            Role.CREDIT_OFFICER,
            "POST",
            f"/v1/ip-assets/{asset}/valuations",
            {
                "value": "20000000.00",
                "appraiser": "Bench Appraisal Co.",
                "method": "income approach",
                "valuation_date": today,
            },
        )
        app = await desk.call(
            Role.RELATIONSHIP_MANAGER,
            "POST",
            "/v1/applications",
            {
                "enterprise_id": enterprise,
                "amount": "5000000.00",
                "term_months": 24,
                "purpose": "working capital",
                "ip_asset_ids": [asset],
            },
        )
        await desk.call(Role.RELATIONSHIP_MANAGER, "POST", f"/v1/applications/{app['id']}/submit")
        await desk.call(Role.CREDIT_OFFICER, "POST", f"/v1/applications/{app['id']}/review")
        ids.append(app["id"])
    return ids


def _today() -> str:
    # The service's business day, read from the same clock: never in its future, and never
    # before the receipt of an application submitted now (a margin of a few minutes here made
    # every disbursement a 422 in the first minutes after midnight in Shanghai).
    return business_date(datetime.now(UTC)).isoformat()


async def quote_requests(session: BenchSession, n: int) -> list[Request]:
    today = _today()

    async def work(desk: _Desk) -> list[Request]:
        ids = await _under_review(desk, _QUOTED_APPLICATIONS, today)
        headers = {**desk.headers[Role.CREDIT_OFFICER], "Content-Type": "application/json"}
        body = json.dumps({"spread_bp": 80})
        return [Request("POST", f"/v1/applications/{i}/quotes", headers, body) for i in ids]

    return await _with_desk(session, work)


_TEMPLATES = 40  # loans made through the API; the rest of the book is copied from them

# $1 the template loans, $2 how many copies of each. A copy is its template's application and
# loan under new ids, with its schedule; what an instalment posting reads and writes.
_COPY = [
    """CREATE TEMP TABLE bench_copy ON COMMIT DROP AS
       SELECT l.id AS template, l.application_id AS template_app, uuid7() AS loan_id,
              uuid7() AS app_id, k
       FROM loans l, generate_series(1, $2::int) AS k WHERE l.id = ANY ($1::uuid[])""",
    """CREATE TEMP TABLE bench_app ON COMMIT DROP AS
       SELECT a.*, c.app_id AS copy_id, c.k AS copy_k
       FROM applications a JOIN bench_copy c ON c.template_app = a.id""",
    "UPDATE bench_app SET id = copy_id, reference = reference || '-' || copy_k",
    "ALTER TABLE bench_app DROP COLUMN copy_id, DROP COLUMN copy_k",
    "INSERT INTO applications SELECT * FROM bench_app",
    """CREATE TEMP TABLE bench_loan ON COMMIT DROP AS
       SELECT l.*, c.loan_id AS copy_id, c.app_id AS copy_app
       FROM loans l JOIN bench_copy c ON c.template = l.id""",
    "UPDATE bench_loan SET id = copy_id, application_id = copy_app",
    "ALTER TABLE bench_loan DROP COLUMN copy_id, DROP COLUMN copy_app",
    # Dated back before they are inserted: updating them in place afterwards rewrote every
    # instalment row and its indexes, the slowest step of the set-up by far.
    """UPDATE bench_loan SET disbursed_on = disbursed_on - (1 + abs(hashtext(id::text)) % 25),
              maturity_date = (disbursed_on - (1 + abs(hashtext(id::text)) % 25)
                               + make_interval(months => term_months))::date""",
    "INSERT INTO loans SELECT * FROM bench_loan",
    """CREATE TEMP TABLE bench_inst ON COMMIT DROP AS
       SELECT i.*, c.loan_id AS copy_id
       FROM loan_installments i JOIN bench_copy c ON c.template = i.loan_id""",
    "UPDATE bench_inst SET loan_id = copy_id",
    "ALTER TABLE bench_inst DROP COLUMN copy_id",
    """UPDATE bench_inst i SET due_date = (l.disbursed_on + make_interval(months => i.seq))::date
       FROM bench_loan l WHERE l.id = i.loan_id""",
    "INSERT INTO loan_installments SELECT * FROM bench_inst",
]

# $1 the loans: each dated 1 to 25 days back (by its id), as if disbursed then, so its first
# instalment falls due 5 to 30 days from today: a posting today pays the current instalment,
# not an overdue one. Due dates follow the disbursement's day of month, as the schedule's do;
# the amounts (monthly interest at annual / 12) do not depend on the dates.
_BACKDATE = [
    """UPDATE loans SET disbursed_on = disbursed_on - (1 + abs(hashtext(id::text)) % 25),
              maturity_date = (disbursed_on - (1 + abs(hashtext(id::text)) % 25)
                               + make_interval(months => term_months))::date
       WHERE id = ANY ($1::uuid[])""",
    """UPDATE loan_installments i
       SET due_date = (l.disbursed_on + make_interval(months => i.seq))::date
       FROM loans l WHERE l.id = i.loan_id AND i.loan_id = ANY ($1::uuid[])""",
]


async def _book(session: BenchSession, templates: list[str], n: int) -> list[tuple[str, str]]:
    """At least ``n`` current loans (the templates and copies of them), each with what its
    first instalment asks: (loan id, amount)."""
    copies = max(0, -(-n // len(templates)) - 1)
    async with session.database.connection() as db, db.transaction():
        await db.execute("SET LOCAL statement_timeout = 0")
        loans = list(templates)
        if copies:
            await db.execute(_COPY[0], templates, copies)
            for statement in _COPY[1:]:
                await db.execute(statement)
            loans += [str(r["loan_id"]) for r in await db.fetch("SELECT loan_id FROM bench_copy")]
        for statement in _BACKDATE:  # the copies were dated back as they were made
            await db.execute(statement, templates)
        rows = await db.fetch(
            """SELECT loan_id, principal + interest AS amount FROM loan_installments
               WHERE loan_id = ANY ($1::uuid[]) AND seq = 1""",
            loans,
        )
    async with session.database.connection() as db:
        await db.execute("ANALYZE applications, loans, loan_installments")
    return [(str(r["loan_id"]), f"{r['amount']:.2f}") for r in rows]


async def repayment_requests(session: BenchSession, n: int) -> list[Request]:
    """Ordinary instalment payments, one a loan: each loan is current, its first instalment
    due in 5 to 30 days, and each request pays that instalment in full today (so it is
    settled and never past due; no penalty interest, no change of class, no prepayment).
    The loans are made through the API, and the book grown to ``n`` by copying them."""
    today = _today()

    async def work(desk: _Desk) -> list[Request]:
        ids = await _under_review(desk, _TEMPLATES, today)
        loans = []
        for app_id in ids:
            app = await desk.call(
                Role.CREDIT_OFFICER,
                "POST",
                f"/v1/applications/{app_id}/decision",
                {"outcome": "approved", "spread_bp": 80},
            )
            for pledge in app["pledges"]:
                await desk.call(
                    Role.CREDIT_OFFICER,
                    "POST",
                    f"/v1/pledges/{pledge['id']}/registration",
                    {"registration_no": f"Y{pledge['id'][-12:]}", "registered_on": today},
                )
            loan = await desk.call(
                Role.CREDIT_OFFICER,
                "POST",
                f"/v1/applications/{app_id}/disbursement",
                {"disbursed_on": today, "repayment_method": "equal_installment"},
            )
            loans.append(loan["id"])
        book = await _book(desk.session, loans, n)
        headers = {**desk.headers[Role.CREDIT_OFFICER], "Content-Type": "application/json"}
        return [
            Request(
                "POST",
                f"/v1/loans/{loan_id}/repayments",
                headers,
                json.dumps({"paid_on": today, "amount": amount}),
            )
            for loan_id, amount in book
        ]

    return await _with_desk(session, work)
