"""Admins have every read (README, Roles; decision 0004): every GET operation of /v1 lets an
admin key in, and what it reads is what the business role that made it reads. Only
originating, deciding and servicing credit stay with the business roles."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.core.roles import Role
from tests.factories import at
from tests.lifecycle import approved, disbursed


def _reads(app: FastAPI) -> list[tuple[str, frozenset[Role]]]:
    reads = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = getattr(route, "path", "")
        if path.startswith("/v1") and "GET" in route.methods:
            reads.append((path, route.access.roles))
    return reads


def test_every_read_lets_an_admin_in(app):
    reads = _reads(app)
    assert reads
    refused = sorted(path for path, roles in reads if Role.ADMIN not in roles)
    assert not refused, f"GET operations an admin may not call: {refused}"
    documented = app.openapi()["paths"]
    for path, _ in reads:
        assert "admin" in documented[path]["get"]["x-roles"], path


async def test_an_admin_reads_a_loans_payoff_as_the_credit_officer_does(desk, conn, clock):
    loan = await disbursed(desk, conn, clock, method="interest_only_bullet", amount="100000.00")
    clock.set(at("2026-03-30T10:00:00+08:00"))
    url = f"/v1/loans/{loan['id']}/payoff"
    by_officer = await desk.client.get(url, params={"on": "2026-03-30"}, headers=desk.officer)
    by_admin = await desk.client.get(url, params={"on": "2026-03-30"}, headers=desk.admin)
    assert by_officer.status_code == 200, by_officer.text
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json() == by_officer.json()
    assert by_admin.json()["outstanding_principal"] == "100000.00"


async def test_an_admin_reads_an_applications_quotes(desk, conn, clock):
    application = await approved(desk, conn, clock)
    url = f"/v1/applications/{application['id']}/quotes"
    by_officer = await desk.client.get(url, headers=desk.officer)
    by_admin = await desk.client.get(url, headers=desk.admin)
    assert by_officer.status_code == 200, by_officer.text
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json() == by_officer.json()
    assert by_admin.json()["items"], "the approval's quote is listed"
    # Reading is all: quoting stays with the credit officer.
    quote = await desk.client.post(url, json={}, headers=desk.admin)
    assert quote.status_code == 403
