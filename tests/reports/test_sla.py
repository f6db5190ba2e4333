"""The SLA report: clocks received in the period, per tier and overall, in the same states that
``GET /v1/applications/{id}`` shows, with the compliance rate and the median working days."""

from collections import Counter

from tests.factories import at
from tests.reports.helpers import report

TIER_3, TIER_5, TIER_10 = "5000000.00", "20000000.00", "40000000.00"
NOW = "2026-03-20T12:00:00+08:00"  # a Friday
STATES = ("met", "missed", "running", "at_risk", "breached", "paused", "withdrawn")


async def _received(desk, clock, when, amount=TIER_3, headers=None):
    clock.set(at(when))
    app = await desk.create(amount=amount, headers=headers)
    return await desk.submit(app, headers=headers)


async def _declined(desk, clock, app, when):
    clock.set(at(when))
    await desk.act(app, "review")
    return await desk.act(app, "decision", outcome="declined", reason="insufficient cover")


async def _march(desk, clock):
    """The crafted cohort of March 2026 (no holidays in March: Mon 2 + 3 working days is Thu 5).
    Returns the applications received in the period 2 – 17 March."""
    apps = []
    # Tier 3, received Mon 2: deadline Thu 5.
    a = await _received(desk, clock, "2026-03-02T09:00:00+08:00")
    apps.append(await _declined(desk, clock, a, "2026-03-04T15:00:00+08:00"))  # met, 2 days
    a = await _received(desk, clock, "2026-03-02T09:00:00+08:00")
    apps.append(await _declined(desk, clock, a, "2026-03-06T10:00:00+08:00"))  # missed, 4 days
    a = await _received(desk, clock, "2026-03-02T09:00:00+08:00")
    apps.append(await _declined(desk, clock, a, "2026-03-05T23:59:00+08:00"))  # met, 3 days
    # Returned on Tue 3 and resubmitted Wed 4 (deadline Mon 9): counted once, by the new clock.
    a = await _received(desk, clock, "2026-03-02T10:00:00+08:00")
    clock.set(at("2026-03-03T10:00:00+08:00"))
    await desk.act(a, "return", reason="missing valuation report")
    clock.set(at("2026-03-04T09:00:00+08:00"))
    await desk.submit(a)
    apps.append(await _declined(desk, clock, a, "2026-03-06T11:00:00+08:00"))  # met, 2 days
    # Tier 5, received Mon 2: deadline Mon 9.
    a = await _received(desk, clock, "2026-03-02T09:00:00+08:00", TIER_5)
    apps.append(await _declined(desk, clock, a, "2026-03-09T18:00:00+08:00"))  # met, 5 days
    # Tier 5, received Tue 3, deadline Tue 10, still under review on the 20th: breached.
    a = await _received(desk, clock, "2026-03-03T09:00:00+08:00", TIER_5)
    clock.set(at("2026-03-04T09:00:00+08:00"))
    apps.append(await desk.act(a, "review"))
    # Tier 10, received Mon 9, deadline Mon 23: running.
    apps.append(await _received(desk, clock, "2026-03-09T09:00:00+08:00", TIER_10))
    # Tier 3, received Tue 17 (the last day of the period), deadline Fri 20: at risk.
    apps.append(await _received(desk, clock, "2026-03-17T23:30:00+08:00"))
    # Tier 3, returned for information and not resubmitted: paused.
    a = await _received(desk, clock, "2026-03-16T09:00:00+08:00")
    clock.set(at("2026-03-16T15:00:00+08:00"))
    apps.append(await desk.act(a, "return", reason="missing board resolution"))
    # Tier 3, withdrawn before a decision.
    a = await _received(desk, clock, "2026-03-16T09:00:00+08:00")
    clock.set(at("2026-03-16T16:00:00+08:00"))
    apps.append(await desk.act(a, "withdraw", headers=desk.rm, reason="funded elsewhere"))
    # Outside the period by their Shanghai dates (16:30 and 15:30 UTC on the 17th and 1st).
    await _received(desk, clock, "2026-03-18T00:30:00+08:00")
    await _received(desk, clock, "2026-03-01T23:30:00+08:00")
    clock.set(at(NOW))
    return apps


def _tier(body, days):
    [figures] = [t for t in body["tiers"] if t["tier_working_days"] == days]
    return figures


class TestFigures:
    async def test_per_tier_and_overall(self, desk, clock):
        await _march(desk, clock)
        body = await report(desk.client, "sla", desk.officer, "2026-03-02", "2026-03-17")
        assert body["from"] == "2026-03-02" and body["to"] == "2026-03-17"
        assert body["as_of"] == NOW and body["relationship_manager_id"] is None
        assert [t["tier_working_days"] for t in body["tiers"]] == [3, 5, 10]
        zero = dict.fromkeys(STATES, 0)
        assert _tier(body, 3) == {
            **zero,
            "tier_working_days": 3,
            "received": 7,
            "decided": 4,
            "met": 3,
            "missed": 1,
            "open": 1,
            "at_risk": 1,
            "paused": 1,
            "withdrawn": 1,
            "pending_calendar": 0,
            "compliance_rate": "0.7500",
            "median_working_days_to_decision": "2.5",  # 2, 2, 3, 4
        }
        assert _tier(body, 5) == {
            **zero,
            "tier_working_days": 5,
            "received": 2,
            "decided": 1,
            "met": 1,
            "open": 1,
            "breached": 1,
            "pending_calendar": 0,
            "compliance_rate": "1.0000",
            "median_working_days_to_decision": "5.0",
        }
        assert _tier(body, 10) == {
            **zero,
            "tier_working_days": 10,
            "received": 1,
            "decided": 0,
            "open": 1,
            "running": 1,
            "pending_calendar": 0,
            "compliance_rate": None,
            "median_working_days_to_decision": None,
        }
        assert body["overall"] == {
            "tier_working_days": None,
            "received": 10,
            "decided": 5,
            "met": 4,
            "missed": 1,
            "open": 3,
            "running": 1,
            "at_risk": 1,
            "breached": 1,
            "paused": 1,
            "withdrawn": 1,
            "pending_calendar": 0,
            "compliance_rate": "0.8000",
            "median_working_days_to_decision": "3.0",  # 2, 2, 3, 4, 5
        }

    async def test_agrees_with_each_applications_sla_state(self, desk, clock):
        apps = await _march(desk, clock)
        shown = Counter()
        for app in apps:
            got = await desk.get(app, headers=desk.officer)
            shown[(got["sla"]["tier_working_days"], got["sla"]["state"])] += 1
        body = await report(desk.client, "sla", desk.officer, "2026-03-02", "2026-03-17")
        counted = Counter()
        for tier in body["tiers"]:
            for state in STATES:
                if tier[state]:
                    counted[(tier["tier_working_days"], state)] = tier[state]
        assert counted == shown

    async def test_states_move_with_time_without_a_sweep(self, desk, clock):
        await _march(desk, clock)
        # Mon 23 March: the tier-10 clock is due today, the tier-3 one of the 17th is breached.
        clock.set(at("2026-03-23T09:00:00+08:00"))
        body = await report(desk.client, "sla", desk.officer, "2026-03-02", "2026-03-17")
        assert (_tier(body, 10)["at_risk"], _tier(body, 10)["running"]) == (1, 0)
        assert (_tier(body, 3)["breached"], _tier(body, 3)["at_risk"]) == (1, 0)
        assert body["overall"]["breached"] == 2 and body["overall"]["open"] == 3

    async def test_nothing_received(self, desk, clock):
        body = await report(desk.client, "sla", desk.officer, "2025-01-01", "2025-01-31")
        for figures in [*body["tiers"], body["overall"]]:
            assert figures["received"] == figures["decided"] == 0
            assert figures["compliance_rate"] is None
            assert figures["median_working_days_to_decision"] is None

    async def test_deadline_in_an_unpublished_year(self, desk, clock):
        # Tue 29 Dec 2026 + 3 working days reaches 2027, whose notice is not loaded.
        open_ = await _received(desk, clock, "2026-12-29T10:00:00+08:00")
        decided = await _received(desk, clock, "2026-12-29T10:00:00+08:00")
        await _declined(desk, clock, decided, "2026-12-30T10:00:00+08:00")
        clock.set(at("2026-12-31T10:00:00+08:00"))
        assert (await desk.get(open_))["sla"]["state"] == "pending_calendar"
        body = await report(desk.client, "sla", desk.officer, "2026-12-01", "2026-12-31")
        overall = body["overall"]
        assert (overall["received"], overall["pending_calendar"]) == (2, 2)
        assert (overall["decided"], overall["open"], overall["compliance_rate"]) == (0, 0, None)


class TestVisibility:
    async def test_a_relationship_manager_counts_their_own_only(self, desk, clock):
        await _march(desk, clock)
        # Another manager's application, missed, in the same period: received early on Tue 3
        # (still Mon 2 in UTC), deadline Fri 6, decided on Fri 13 after 8 working days.
        clock.set(at("2026-03-03T07:30:00+08:00"))
        other = await desk.create(headers=desk.other_rm)
        await desk.submit(other, headers=desk.other_rm)
        await _declined(desk, clock, other, "2026-03-13T09:00:00+08:00")
        clock.set(at(NOW))

        mine = await report(desk.client, "sla", desk.rm, "2026-03-02", "2026-03-17")
        assert mine["relationship_manager_id"] == desk.rm_id
        assert (mine["overall"]["received"], mine["overall"]["missed"]) == (10, 1)
        theirs = await report(desk.client, "sla", desk.other_rm, "2026-03-02", "2026-03-17")
        assert (theirs["overall"]["received"], theirs["overall"]["missed"]) == (1, 1)
        assert theirs["overall"]["compliance_rate"] == "0.0000"
        assert theirs["overall"]["median_working_days_to_decision"] == "8.0"
        everyone = await report(desk.client, "sla", desk.bank, "2026-03-02", "2026-03-17")
        assert (everyone["overall"]["received"], everyone["overall"]["missed"]) == (11, 2)
        assert everyone["relationship_manager_id"] is None
