"""Quoting and repayment posting under load (HTTP, against the floor).

The loans and applications they need are made the way a bank makes them, through the API, by
an in-process client on the bench database before the load starts.
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
_LOANS = 300


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


async def _disbursed_two_months_ago(session: BenchSession, loans: list[str]) -> None:
    """Move the loans' dates two months back, as if disbursed then, so that their first
    instalments are due and a posting today pays interest, as most postings do. The API dates a
    disbursement no earlier than its application's receipt, which is today here."""
    async with session.database.connection() as db, db.transaction():
        await db.execute(
            """UPDATE loans SET disbursed_on = disbursed_on - interval '2 months',
                      maturity_date = maturity_date - interval '2 months'
               WHERE id = ANY ($1::uuid[])""",
            loans,
        )
        await db.execute(
            """UPDATE loan_installments SET due_date = due_date - interval '2 months'
               WHERE loan_id = ANY ($1::uuid[])""",
            loans,
        )


async def repayment_requests(session: BenchSession, n: int) -> list[Request]:
    """Small repayments spread over many active loans: each posting allocates to the oldest
    instalment's interest, and no loan is ever paid beyond what it owes."""
    today = _today()

    async def work(desk: _Desk) -> list[Request]:
        ids = await _under_review(desk, _LOANS, today)
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
        await _disbursed_two_months_ago(desk.session, loans)
        headers = {**desk.headers[Role.CREDIT_OFFICER], "Content-Type": "application/json"}
        body = json.dumps({"paid_on": today, "amount": "1.00"})
        return [Request("POST", f"/v1/loans/{i}/repayments", headers, body) for i in loans]

    return await _with_desk(session, work)
