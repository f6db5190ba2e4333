"""The SLA sweep: at-risk and breached events exactly once per clock, however often and by
however many workers it runs."""

import asyncio

import pytest

from app.applications import sweep
from app.core.db import Db
from tests import factories
from tests.factories import at


async def _events(db, app_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT type FROM outbox_events WHERE data->>'application_id' = $1 "
        "AND type LIKE 'application.sla_%' ORDER BY type",
        app_id,
    )
    return [r["type"] for r in rows]


class TestInOneTransaction:
    async def test_at_risk_then_breached_once_each(self, desk, clock, runtime, conn):
        # Counts are checked per application: committed tests elsewhere leave clocks of their
        # own in the database, which a sweep rightly reports too.
        clock.set(at("2026-03-09T10:00:00+08:00"))  # deadline Thu 12 March
        app = await desk.submit(await desk.create())
        clock.set(at("2026-03-11T10:00:00+08:00"))
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == []
        clock.set(at("2026-03-12T08:00:00+08:00"))
        first = await sweep.sweep(runtime)
        assert first.at_risk >= 1
        assert await _events(conn, app["id"]) == ["application.sla_at_risk"]
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == ["application.sla_at_risk"]
        clock.set(at("2026-03-13T00:00:01+08:00"))
        late = await sweep.sweep(runtime)
        assert late.breached >= 1
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == [
            "application.sla_at_risk",
            "application.sla_breached",
        ]
        event = await conn.fetchrow(
            "SELECT * FROM outbox_events WHERE type = 'application.sla_breached' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
        assert event["district_code"] == "440307"
        assert event["data"]["deadline_date"] == "2026-03-12"

    async def test_a_clock_swept_late_reports_both_once(self, desk, clock, runtime, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        clock.set(at("2026-03-20T10:00:00+08:00"))
        await sweep.sweep(runtime)
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == [
            "application.sla_at_risk",
            "application.sla_breached",
        ]

    async def test_more_due_clocks_than_a_batch_are_all_reported_once(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        apps = [await desk.submit(await desk.create()) for _ in range(5)]
        now = at("2026-03-20T10:00:00+08:00")
        # Two clocks a statement: the five (and any other test's) take several statements.
        db = Db(conn)
        at_risk, breached = await sweep.emit_due_events(db, now=now, request_id="t", batch=2)
        assert at_risk >= 5 and breached >= 5
        for app in apps:
            assert await _events(conn, app["id"]) == [
                "application.sla_at_risk",
                "application.sla_breached",
            ]
        assert await sweep.emit_due_events(db, now=now, request_id="t", batch=2) == (0, 0)

    async def test_the_pass_leaves_the_callers_plan_setting_as_it_was(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        await desk.submit(await desk.create())
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        now = at("2026-03-20T10:00:00+08:00")
        await sweep.emit_due_events(Db(conn), now=now, request_id="t", batch=2)
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"

    async def test_stopped_clocks_are_not_reported(self, desk, clock, runtime, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        returned = await desk.submit(await desk.create())
        await desk.act(returned, "return", reason="more")
        decided = await desk.submit(await desk.create(assets=[desk.assets[1]]))
        await desk.act(decided, "review")
        await desk.act(decided, "decision", outcome="declined", reason="no")
        clock.set(at("2026-03-20T10:00:00+08:00"))
        await sweep.sweep(runtime)
        assert await _events(conn, returned["id"]) == []
        assert await _events(conn, decided["id"]) == []


@pytest.mark.committed
async def test_two_workers_sweeping_at_once_report_each_clock_once(
    live_runtime, make_live_key, live_client, clock
):
    from tests.applications.test_concurrency import _world

    desk = await _world(live_runtime, make_live_key, live_client, clock)
    apps = []
    async with live_runtime.database.connection() as db, db.transaction():
        extra = [await factories.ip_asset(db.conn, desk.enterprise_id) for _ in range(5)]
    for asset in [*desk.assets, *extra]:
        apps.append(await desk.submit(await desk.create(assets=[asset])))
    clock.set(at("2026-03-25T10:00:00+08:00"))
    results = await asyncio.gather(*[sweep.sweep(live_runtime) for _ in range(4)])
    async with live_runtime.database.connection() as db:
        for app in apps:
            assert await _events(db, app["id"]) == [
                "application.sla_at_risk",
                "application.sla_breached",
            ]
    assert sum(r.breached for r in results) >= len(apps)


async def _recomputed(conn, app_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM audit_events WHERE entity_id = $1 "
        "AND action = 'approval_clock.deadline_computed'",
        app_id,
    )


class TestStaleDeadlines:
    async def test_a_recent_clock_computed_on_a_stale_calendar_is_corrected(
        self, desk, clock, runtime, conn
    ):
        # A submission racing a calendar change can commit a deadline from the calendar as it
        # was; the change's own recomputation could not see it. The next sweep puts it right.
        clock.set(at("2026-02-13T10:00:00+08:00"))  # Fri 13 Feb + 3 → Wed 25 Feb
        app = await desk.submit(await desk.create())
        assert app["sla"]["deadline_date"] == "2026-02-25"
        for table, key in (("approval_clocks", "application_id"), ("applications", "id")):
            await conn.execute(
                f"UPDATE {table} SET deadline_date = '2026-02-18', "
                f"deadline_at = '2026-02-18T15:59:59.999999Z' WHERE {key} = $1",
                app["id"],
            )
        result = await sweep.sweep(runtime)
        assert result.deadlines_computed >= 1
        fixed = await desk.get(app)
        assert fixed["sla"]["deadline_date"] == "2026-02-25"
        assert fixed["clocks"][-1]["deadline_date"] == "2026-02-25"
        assert await _recomputed(conn, app["id"]) == 1
        await sweep.sweep(runtime)  # right now: nothing more to do for it
        assert await _recomputed(conn, app["id"]) == 1


class TestDecidedAfterItsDeadline:
    """SPEC 3.3: a clock decided after its deadline is announced as breached once, by the
    decision or by the sweep, whichever comes first; so is one returned or withdrawn after
    it (every clock that passes its deadline undecided gets its ``sla_breached``)."""

    async def test_the_decision_announces_a_breach_the_sweep_has_not(
        self, desk, clock, runtime, conn
    ):
        clock.set(at("2026-03-09T10:00:00+08:00"))  # deadline Thu 12 March, 23:59:59
        app = await desk.submit(await desk.create())
        await desk.act(app, "review")
        clock.set(at("2026-03-13T09:00:00+08:00"))  # past it; no sweep has run
        decided = await desk.act(app, "decision", outcome="declined", reason="weak collateral")
        assert decided["sla"]["state"] == "missed"
        assert await _events(conn, app["id"]) == ["application.sla_breached"]
        event = await conn.fetchrow(
            "SELECT * FROM outbox_events WHERE type = 'application.sla_breached' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
        assert event["district_code"] == "440307"
        assert event["data"]["deadline_date"] == "2026-03-12"
        assert event["data"]["state"] == "under_review"
        assert event["data"]["reference"] == app["reference"]
        trail = await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE entity_id = $1 "
            "AND action = 'application.sla_breached_reported'",
            app["id"],
        )
        assert trail == 1
        # The sweep afterwards finds nothing left to report for it.
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == ["application.sla_breached"]

    async def test_after_the_sweep_the_decision_announces_nothing_more(
        self, desk, clock, runtime, conn
    ):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        await desk.act(app, "review")
        clock.set(at("2026-03-13T09:00:00+08:00"))
        await sweep.sweep(runtime)
        reported = ["application.sla_at_risk", "application.sla_breached"]
        assert await _events(conn, app["id"]) == reported
        await desk.act(app, "decision", outcome="declined", reason="weak collateral")
        assert await _events(conn, app["id"]) == reported

    async def test_a_decision_in_time_announces_no_breach(self, desk, clock, conn):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        await desk.act(app, "review")
        clock.set(at("2026-03-12T23:00:00+08:00"))  # the deadline day, before its end
        decided = await desk.act(app, "decision", outcome="declined", reason="weak collateral")
        assert decided["sla"]["state"] == "met"
        assert await _events(conn, app["id"]) == []

    async def test_a_withdrawal_after_the_deadline_announces_the_breach(
        self, desk, clock, runtime, conn
    ):
        # The sweep never looks at a stopped clock: left to it, a clock withdrawn past its
        # deadline before a pass would never be announced.
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        clock.set(at("2026-03-13T09:00:00+08:00"))
        await desk.act(app, "withdraw", headers=desk.rm, reason="no longer needed")
        assert await _events(conn, app["id"]) == ["application.sla_breached"]
        event = await conn.fetchrow(
            "SELECT data FROM outbox_events WHERE type = 'application.sla_breached' "
            "AND data->>'application_id' = $1",
            app["id"],
        )
        assert event["data"]["state"] == "submitted"
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == ["application.sla_breached"]

    async def test_a_return_after_the_deadline_announces_the_breach(
        self, desk, clock, runtime, conn
    ):
        clock.set(at("2026-03-09T10:00:00+08:00"))  # deadline Thu 12 March
        app = await desk.submit(await desk.create())
        await desk.act(app, "review")
        clock.set(at("2026-03-13T09:00:00+08:00"))  # past it; no sweep has run
        await desk.act(app, "return", reason="the valuation report is missing")
        assert await _events(conn, app["id"]) == ["application.sla_breached"]
        # Resubmitted, the new clock runs in full and has nothing to announce yet.
        again = await desk.submit(app)
        assert again["sla"]["deadline_date"] == "2026-03-18"
        await sweep.sweep(runtime)
        assert await _events(conn, app["id"]) == ["application.sla_breached"]

    async def test_a_withdrawal_after_a_swept_breach_announces_nothing_more(
        self, desk, clock, runtime, conn
    ):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        clock.set(at("2026-03-13T09:00:00+08:00"))
        await sweep.sweep(runtime)
        reported = ["application.sla_at_risk", "application.sla_breached"]
        assert await _events(conn, app["id"]) == reported
        await desk.act(app, "withdraw", headers=desk.rm, reason="no longer needed")
        assert await _events(conn, app["id"]) == reported
