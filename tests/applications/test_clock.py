"""The approval clock: tiers, deadlines in Chinese working days, back-dating, returns,
the truth of the SLA state at read time, and an unpublished year."""

import pytest

from tests.conftest import problem_of
from tests.factories import at


async def _submitted(desk, clock, *, now: str, amount: str = "5000000.00", received_at=None):
    clock.set(at(now))
    app = await desk.create(amount=amount)
    body = {"received_at": received_at} if received_at else {}
    return await desk.submit(app, **body)


class TestTiers:
    @pytest.mark.parametrize(
        "amount,tier,deadline",
        [
            # Mon 2026-03-09 + 3 → Thu 12th; + 5 → Mon 16th; + 10 → Mon 23rd.
            ("10000000.00", 3, "2026-03-12"),
            ("10000000.01", 5, "2026-03-16"),
            ("30000000.00", 5, "2026-03-16"),
            ("30000000.01", 10, "2026-03-23"),
        ],
    )
    async def test_amount_fixes_the_tier(self, desk, clock, amount, tier, deadline):
        app = await _submitted(desk, clock, now="2026-03-09T10:00:00+08:00", amount=amount)
        assert app["sla"]["tier_working_days"] == tier
        assert app["sla"]["deadline_date"] == deadline
        assert app["sla"]["deadline_at"] == f"{deadline}T23:59:59.999999+08:00"
        assert app["sla"]["state"] == "running"


class TestDeadlinesOnTheOfficialCalendar:
    @pytest.mark.parametrize(
        "received,deadline",
        [
            # Fri 13 Feb: Sat 14 is a make-up working day, 15–23 Feb the Spring Festival.
            ("2026-02-13T16:00:00+08:00", "2026-02-25"),
            # Received on the make-up Saturday itself: 24, 25, 26 Feb.
            ("2026-02-14T09:00:00+08:00", "2026-02-26"),
            # Received during the Spring Festival holiday: 24, 25, 26 Feb.
            ("2026-02-18T11:00:00+08:00", "2026-02-26"),
            # Saturday 7 March: Mon 9, Tue 10, Wed 11.
            ("2026-03-07T12:00:00+08:00", "2026-03-11"),
            # Labour Day: 1–5 May off, Sat 9 May worked. Thu 30 Apr + 3 → 6, 7, 8 May.
            ("2026-04-30T10:00:00+08:00", "2026-05-08"),
            # Wed 6 May + 3 → 7, 8 May and the make-up Saturday 9 May.
            ("2026-05-06T10:00:00+08:00", "2026-05-09"),
            # National Day: 1–7 Oct off, Sat 10 Oct worked. Wed 30 Sep + 3 → Sat 10 Oct.
            ("2026-09-30T10:00:00+08:00", "2026-10-10"),
            # Late on a Friday in Shanghai is still Friday (UTC would say otherwise).
            ("2026-03-06T23:30:00+08:00", "2026-03-11"),
        ],
    )
    async def test_deadline(self, desk, clock, received, deadline):
        clock.set(at(received))
        app = await desk.create()
        submitted = await desk.submit(app)
        assert submitted["sla"]["deadline_date"] == deadline

    async def test_received_at_is_the_local_date_of_arrival(self, desk, clock):
        # 15:30 UTC on Friday is 23:30 on Friday in Shanghai.
        app = await _submitted(
            desk, clock, now="2026-03-09T09:00:00+08:00", received_at="2026-03-06T15:30:00Z"
        )
        assert app["sla"]["received_at"] == "2026-03-06T23:30:00+08:00"
        assert app["sla"]["deadline_date"] == "2026-03-11"


class TestBackdating:
    async def test_thirty_days_back_is_allowed(self, desk, clock):
        app = await _submitted(
            desk, clock, now="2026-04-15T10:00:00+08:00", received_at="2026-03-16T10:00:00+08:00"
        )
        assert app["sla"]["deadline_date"] == "2026-03-19"
        assert app["sla"]["state"] == "breached"  # the branch sat on it for a month

    @pytest.mark.parametrize(
        "received",
        ["2026-03-16T09:59:59+08:00", "2026-04-15T10:00:01+08:00", "2026-04-15T10:00:00"],
    )
    async def test_too_early_in_the_future_or_without_offset(self, desk, clock, conn, received):
        clock.set(at("2026-04-15T10:00:00+08:00"))
        app = await desk.create()
        response = await desk.client.post(
            f"/v1/applications/{app['id']}/submit", json={"received_at": received}, headers=desk.rm
        )
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"][-1] == "received_at"
        assert (await desk.get(app))["state"] == "draft"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pledges WHERE application_id = $1::uuid", app["id"]
            )
            == 0
        )


class TestStateIsTrueWhenRead:
    async def test_running_then_at_risk_then_breached(self, desk, clock):
        app = await _submitted(desk, clock, now="2026-02-13T16:00:00+08:00")
        clock.set(at("2026-02-24T23:59:59+08:00"))
        assert (await desk.get(app))["sla"]["state"] == "running"
        clock.set(at("2026-02-25T00:00:00+08:00"))
        assert (await desk.get(app))["sla"]["state"] == "at_risk"
        clock.set(at("2026-02-26T00:00:00+08:00"))
        got = await desk.get(app)
        assert got["sla"]["state"] == "breached"
        assert got["clocks"][0]["state"] == "breached"

    async def test_decision_on_time_is_met_late_is_missed(self, desk, clock):
        on_time = await _submitted(desk, clock, now="2026-03-09T10:00:00+08:00")
        late = await _submitted(desk, clock, now="2026-03-09T10:00:00+08:00")
        for app in (on_time, late):
            await desk.act(app, "review")
        clock.set(at("2026-03-12T18:00:00+08:00"))
        await desk.act(on_time, "decision", outcome="declined", reason="insufficient collateral")
        clock.set(at("2026-03-13T09:00:00+08:00"))
        await desk.act(late, "decision", outcome="declined", reason="insufficient collateral")
        clock.set(at("2026-06-01T09:00:00+08:00"))
        assert (await desk.get(on_time))["sla"]["state"] == "met"
        assert (await desk.get(late))["sla"]["state"] == "missed"


class TestReturnForInformation:
    async def test_return_pauses_and_resubmission_restarts_in_full(self, desk, clock):
        app = await _submitted(desk, clock, now="2026-03-09T10:00:00+08:00")
        clock.set(at("2026-03-10T15:00:00+08:00"))
        returned = await desk.act(app, "return", reason="board resolution missing")
        assert returned["state"] == "awaiting_information"
        assert returned["sla"]["state"] == "paused"
        assert returned["return_reason"] == "board resolution missing"
        clock.set(at("2026-03-20T10:00:00+08:00"))
        assert (await desk.get(app))["sla"]["state"] == "paused"  # no breach while paused
        resubmitted = await desk.submit(app, received_at="2026-03-19T16:00:00+08:00")
        assert resubmitted["state"] == "submitted"
        assert resubmitted["sla"]["received_at"] == "2026-03-19T16:00:00+08:00"
        assert resubmitted["sla"]["deadline_date"] == "2026-03-24"  # Fri 20, Mon 23, Tue 24
        clocks = resubmitted["clocks"]
        assert [c["seq"] for c in clocks] == [1, 2]
        assert clocks[0]["stop_reason"] == "returned" and clocks[0]["state"] == "returned"
        assert clocks[0]["stopped_at"] == "2026-03-10T15:00:00+08:00"
        assert clocks[1]["state"] == "running"
        # Pledges were proposed once and survive the return.
        assert len(resubmitted["pledges"]) == 1
        assert resubmitted["pledges"][0]["state"] == "proposed"

    async def test_materials_cannot_arrive_before_the_return(self, desk, clock):
        app = await _submitted(desk, clock, now="2026-03-09T10:00:00+08:00")
        clock.set(at("2026-03-10T15:00:00+08:00"))
        await desk.act(app, "return", reason="missing")
        response = await desk.client.post(
            f"/v1/applications/{app['id']}/submit",
            json={"received_at": "2026-03-10T14:00:00+08:00"},
            headers=desk.rm,
        )
        assert response.status_code == 422


class TestUnpublishedYear:
    async def test_pending_until_published_then_computed(self, desk, clock, conn):
        # Tue 29 Dec 2026 + 3: Wed 30, Thu 31 … and then 2027, not yet published.
        app = await _submitted(desk, clock, now="2026-12-29T10:00:00+08:00")
        assert app["sla"]["deadline_date"] is None
        assert app["sla"]["state"] == "pending_calendar"
        response = await desk.client.get(
            "/v1/calendar/working-days", params={"from": "2026-12-29", "add": 3}, headers=desk.rm
        )
        assert response.status_code == 409
        assert problem_of(response)["year"] == 2027
        published = await desk.client.put(
            "/v1/calendar/years/2027",
            json={
                "holidays": [{"date": "2027-01-01", "name": "New Year's Day", "name_zh": "元旦"}],
                "makeup_workdays": [],
                "notice": "State Council notice on the 2027 holidays (test)",
            },
            headers=desk.admin,
        )
        assert published.status_code == 200, published.text
        computed = await desk.get(app)
        # Wed 30, Thu 31, (Fri 1 Jan holiday, weekend), Mon 4 Jan 2027.
        assert computed["sla"]["deadline_date"] == "2027-01-04"
        assert computed["sla"]["state"] == "running"
        assert computed["clocks"][0]["deadline_date"] == "2027-01-04"
        trail = await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'approval_clock.deadline_computed' "
            "AND entity_id = $1",
            app["id"],
        )
        assert trail == 1

    async def test_a_correction_that_pushes_a_deadline_into_it_leaves_it_pending(
        self, desk, clock, conn
    ):
        # Mon 28 Dec 2026 + 3: Tue 29, Wed 30, Thu 31. Thursday corrected to a holiday, the third
        # working day lies in 2027: the deadline is pending, not Thursday as before.
        app = await _submitted(desk, clock, now="2026-12-28T10:00:00+08:00")
        assert app["sla"]["deadline_date"] == "2026-12-31"
        year = await desk.client.get("/v1/calendar/years/2026", headers=desk.admin)
        corrected = await desk.client.put(
            "/v1/calendar/days/2026-12-31",
            json={"kind": "holiday", "holiday_name": "New Year's Day", "reason": "test"},
            headers={**desk.admin, "If-Match": year.headers["etag"]},
        )
        assert corrected.status_code == 200, corrected.text
        pending = await desk.get(app)
        assert pending["sla"]["deadline_date"] is None
        assert pending["sla"]["deadline_at"] is None
        assert pending["sla"]["state"] == "pending_calendar"
        assert pending["clocks"][0]["state"] == "pending_calendar"
        listed = await desk.client.get(
            "/v1/applications", params={"sla_state": "pending_calendar"}, headers=desk.rm
        )
        assert app["id"] in {item["id"] for item in listed.json()["items"]}
        trail = await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'approval_clock.deadline_computed' "
            "AND entity_id = $1",
            app["id"],
        )
        assert trail == 1
