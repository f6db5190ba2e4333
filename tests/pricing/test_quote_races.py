"""Quotes made at once, with real commits: each request's facts and its quote go through the
statement batcher (``app.core.batch``) beside the others', and each quote is still kept once,
under its own application, with its own audit entry."""

import asyncio
from datetime import date
from uuid import UUID

import pytest

from tests import factories
from tests.applications.test_concurrency import _world

pytestmark = pytest.mark.committed


async def test_concurrent_quotes_of_several_applications_are_each_kept_once(
    live_runtime, make_live_key, live_client, clock
):
    desk = await _world(live_runtime, make_live_key, live_client, clock)
    async with live_runtime.database.connection() as db:
        await factories.lpr(db.conn, date(2026, 2, 20))
        assets = [await factories.ip_asset(db.conn, desk.enterprise_id) for _ in range(3)]
    applications = [await desk.create(assets=[asset]) for asset in assets]
    for application in applications:
        await desk.submit(application)
    batcher = live_runtime.database.batcher
    before = batcher.statements

    spreads = [50, 80, 120]
    responses = await asyncio.gather(
        *[
            live_client.post(
                f"/v1/applications/{application['id']}/quotes",
                json={"spread_bp": spread},
                headers=desk.officer,
            )
            for application in applications
            for spread in spreads
        ]
    )

    assert [r.status_code for r in responses] == [201] * 9, [r.text for r in responses]
    quotes = [r.json() for r in responses]
    assert len({q["id"] for q in quotes}) == 9
    for n, application in enumerate(applications):
        mine = quotes[3 * n : 3 * n + 3]
        assert {q["application_id"] for q in mine} == {application["id"]}
        assert sorted(q["spread_bp"] for q in mine) == spreads
        listed = await live_client.get(
            f"/v1/applications/{application['id']}/quotes", headers=desk.officer
        )
        assert sorted(q["id"] for q in listed.json()["items"]) == sorted(q["id"] for q in mine)
    # Two statements a quote (its facts, then the quote and its audit entry), both batched.
    assert batcher.statements - before == 18
    async with live_runtime.database.connection() as db:
        audited = await db.fetch(
            "SELECT entity_id FROM audit_events WHERE action = 'quote.created' "
            "AND entity_id = ANY($1::text[])",
            [q["id"] for q in quotes],
        )
        kept = await db.fetchval(
            "SELECT count(*) FROM application_quotes WHERE id = ANY($1::uuid[])",
            [UUID(q["id"]) for q in quotes],
        )
    assert sorted(r["entity_id"] for r in audited) == sorted(q["id"] for q in quotes)
    assert kept == 9
