"""Loans for pool tests, walked through the API in January 2025: earlier than every other
test's loans, so that a pool cut off at the end of January 2025 sees only the loans its test
made, even beside loans other tests committed."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from tests import factories
from tests.desk import Desk
from tests.factories import at

CUT_OFF = "2025-01-31"
TODAY = "2025-02-03T10:00:00+08:00"


@dataclasses.dataclass
class Book:
    """A credit desk that makes loans for any enterprise, and the structured-finance desk."""

    desk: Desk
    conn: object
    clock: object
    desk_key: dict[str, str]

    async def enterprise(self, *, district: str = "440305", industry: str = "other") -> object:
        return await factories.enterprise(self.conn, district_code=district, industry=industry)

    async def loan(
        self,
        amount: str,
        *,
        enterprise=None,
        district: str = "440305",
        industry: str = "other",
        term_months: int = 12,
        disbursed_on: str = "2025-01-10",
        value: str = "20000000.00",
        assets: int = 1,
    ) -> dict:
        """A disbursed loan of ``amount`` (the whole amount approved), equal instalments due on
        the 10th of each month from February 2025, pledges registered and valued."""
        enterprise = enterprise or await self.enterprise(district=district, industry=industry)
        desk = dataclasses.replace(self.desk, enterprise_id=enterprise)
        self.clock.set(at("2025-01-06T10:00:00+08:00"))
        await factories.lpr(self.conn, date(2024, 12, 20), one_year_bp=310)
        asset_ids = [
            await factories.ip_asset(
                self.conn, enterprise, value=Decimal(value), valued_on=date(2024, 12, 2)
            )
            for _ in range(assets)
        ]
        app = await desk.create(assets=asset_ids, amount=amount, term_months=term_months)
        app = await desk.submit(app)
        await desk.act(app, "review")
        app = await desk.act(app, "decision", outcome="approved")
        for pledge in app["pledges"]:
            response = await desk.client.post(
                f"/v1/pledges/{pledge['id']}/registration",
                json={
                    "registration_no": f"Y2025{pledge['id'][-8:]}",
                    "registered_on": "2025-01-06",
                },
                headers=desk.officer,
            )
            assert response.status_code == 200, response.text
        self.clock.set(at(f"{disbursed_on}T15:00:00+08:00"))
        response = await desk.client.post(
            f"/v1/applications/{app['id']}/disbursement",
            json={"disbursed_on": disbursed_on, "repayment_method": "equal_installment"},
            headers=desk.officer,
        )
        assert response.status_code == 201, response.text
        self.clock.set(at(TODAY))
        return response.json()

    async def repay(
        self, loan: dict, *, paid_on: str, amount: str | None = None, **body: str
    ) -> dict:
        """Pay the first instalment, with any penalty interest it owes by then (or
        ``amount``) on ``paid_on``; ``body`` adds to the request (``prepayment_option``)."""
        if amount is None:
            first = loan["schedule"][0]
            then = await self.desk.client.get(
                f"/v1/loans/{loan['id']}", params={"as_of": paid_on}, headers=self.desk.officer
            )
            penalty = Decimal(then.json()["penalty_interest_due"])
            amount = str(Decimal(first["principal"]) + Decimal(first["interest"]) + penalty)
        response = await self.desk.client.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"paid_on": paid_on, "amount": amount, **body},
            headers=self.desk.officer,
        )
        assert response.status_code == 201, response.text
        return response.json()["loan"]

    async def pool(self, target: str, *, expect: int = 201, **body) -> dict:
        payload = {"name": "Shenzhen IP ABS 2025-1", "cut_off_date": CUT_OFF}
        payload.update(target_balance=target, **body)
        response = await self.desk.client.post("/v1/pools", json=payload, headers=self.desk_key)
        assert response.status_code == expect, response.text
        return response.json()

    async def post(self, pool: dict, action: str, *, expect: int = 200, **body) -> dict:
        response = await self.desk.client.post(
            f"/v1/pools/{pool['id']}/{action}", json=body or None, headers=self.desk_key
        )
        assert response.status_code == expect, response.text
        return response.json()

    async def add(self, pool: dict, loan: dict, *, expect: int = 200) -> dict:
        return await self.post(pool, "loans", expect=expect, loan_id=loan["id"])

    async def get(self, pool: dict) -> dict:
        response = await self.desk.client.get(f"/v1/pools/{pool['id']}", headers=self.desk_key)
        assert response.status_code == 200, response.text
        return response.json()


NO_LIMITS = {"max_obligor_share": "1.00", "max_industry_share": "1.00"}


@pytest.fixture
async def book(desk, conn, clock, make_key) -> Book:
    clock.set(at(TODAY))
    return Book(desk=desk, conn=conn, clock=clock, desk_key=await make_key("securitization"))
