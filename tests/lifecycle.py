"""Walking an application through the API to the state a test needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests import factories
from tests.desk import Desk
from tests.factories import at


async def approved(
    desk: Desk,
    conn,
    clock,
    *,
    amount: str = "5000000.00",
    term_months: int = 12,
    assets: int = 1,
    value: str = "20000000.00",
    when: str = "2026-03-09T10:00:00+08:00",
    lpr_bp: int = 300,
    register: bool = True,
) -> dict:
    """An approved application (LPR 3.00% on 20 Feb 2026) with its pledges registered."""
    clock.set(at(when))
    await factories.lpr(conn, date(2026, 2, 20), one_year_bp=lpr_bp)
    asset_ids = [
        await factories.ip_asset(
            conn, desk.enterprise_id, value=Decimal(value), valued_on=date(2026, 1, 5)
        )
        for _ in range(assets)
    ]
    app = await desk.create(assets=asset_ids, amount=amount, term_months=term_months)
    app = await desk.submit(app)
    await desk.act(app, "review")
    app = await desk.act(app, "decision", outcome="approved")
    assert app["state"] == "approved", app
    if register:
        for pledge in app["pledges"]:
            response = await desk.client.post(
                f"/v1/pledges/{pledge['id']}/registration",
                json={"registration_no": f"Y2026{pledge['id'][-8:]}", "registered_on": when[:10]},
                headers=desk.officer,
            )
            assert response.status_code == 200, response.text
        app = await desk.get(app)
    return app


async def disbursed(
    desk: Desk,
    conn,
    clock,
    *,
    method: str = "equal_installment",
    disbursed_on: str = "2026-03-10",
    **kwargs,
) -> dict:
    app = await approved(desk, conn, clock, **kwargs)
    clock.set(at(f"{disbursed_on}T15:00:00+08:00"))
    response = await desk.client.post(
        f"/v1/applications/{app['id']}/disbursement",
        json={"disbursed_on": disbursed_on, "repayment_method": method},
        headers=desk.officer,
    )
    assert response.status_code == 201, response.text
    return response.json()
