"""LPR fixings: recorded by admins (create or replace, audited), read by the bank's roles."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from app.core import outbox
from app.core.context import OPERATOR, Ctx
from app.pricing import service
from tests.conftest import problem_of, slug
from tests.pricing.conftest import NOW, TODAY


async def put(client, headers, day, one=310, five=360, **extra):
    return await client.put(
        f"/v1/lpr/{day}",
        json={"one_year_bp": one, "five_year_bp": five},
        headers={**headers, **extra},
    )


async def audit_of(client, admin, day):
    response = await client.get(
        "/v1/audit-events",
        params={"entity_type": "lpr_fixing", "entity_id": str(day)},
        headers=admin,
    )
    return response.json()["items"]


class TestRecording:
    async def test_creates_a_fixing_and_audits_it(self, client, make_key, data):
        admin = await make_key("admin")
        response = await put(client, admin, "2026-11-20")
        assert response.status_code == 201
        fixing = response.json()
        assert fixing["fixing_date"] == "2026-11-20"
        assert (fixing["one_year_bp"], fixing["five_year_bp"], fixing["version"]) == (310, 360, 1)
        assert fixing["created_at"] == fixing["updated_at"] == "2026-11-23T10:00:00+08:00"
        assert response.headers["etag"] == '"1"'
        [event] = await audit_of(client, admin, "2026-11-20")
        assert event["action"] == "lpr_fixing.created"
        assert event["before"] is None and event["after"]["one_year_bp"] == 310

    async def test_replacing_bumps_the_version_and_keeps_before_and_after(
        self, client, make_key, data, clock
    ):
        admin = await make_key("admin")
        await put(client, admin, "2026-10-20", 310, 360)
        clock.advance(hours=1)
        response = await put(client, admin, "2026-10-20", 300, 350)
        assert response.status_code == 200
        fixing = response.json()
        assert (fixing["one_year_bp"], fixing["five_year_bp"], fixing["version"]) == (300, 350, 2)
        assert fixing["created_at"] == "2026-11-23T10:00:00+08:00"
        assert fixing["updated_at"] == "2026-11-23T11:00:00+08:00"
        assert response.headers["etag"] == '"2"'
        replaced, created = await audit_of(client, admin, "2026-10-20")
        assert created["action"] == "lpr_fixing.created"
        assert replaced["action"] == "lpr_fixing.replaced"
        assert replaced["before"]["one_year_bp"] == 310 and replaced["before"]["version"] == 1
        assert replaced["after"]["one_year_bp"] == 300 and replaced["after"]["version"] == 2

    async def test_sending_the_same_figures_again_changes_nothing(self, client, make_key, data):
        admin = await make_key("admin")
        first = (await put(client, admin, "2026-09-22")).json()
        again = await put(client, admin, "2026-09-22")
        assert again.status_code == 200 and again.json() == first
        assert len(await audit_of(client, admin, "2026-09-22")) == 1

    async def test_today_is_allowed_and_a_future_date_is_refused(self, client, make_key, data):
        admin = await make_key("admin")
        assert (await put(client, admin, TODAY)).status_code == 201
        tomorrow = await put(client, admin, TODAY + timedelta(days=1))
        assert tomorrow.status_code == 422
        assert problem_of(tomorrow)["errors"][0]["loc"] == ["path", "fixing_date"]

    @pytest.mark.parametrize(
        "body",
        [
            {"one_year_bp": 0, "five_year_bp": 350},
            {"one_year_bp": 10000, "five_year_bp": 350},
            {"one_year_bp": 300, "five_year_bp": -1},
            {"one_year_bp": "300", "five_year_bp": 350},
            {"one_year_bp": 300.0, "five_year_bp": 350},
            {"one_year_bp": 3.5, "five_year_bp": 350},
            {"one_year_bp": True, "five_year_bp": 350},
            {"one_year_bp": 300},
            {"one_year_bp": 300, "five_year_bp": 350, "tenor": "1y"},
        ],
    )
    async def test_figures_are_whole_basis_points_from_1_to_9999(
        self, client, make_key, data, body
    ):
        admin = await make_key("admin")
        response = await client.put("/v1/lpr/2026-08-20", json=body, headers=admin)
        assert response.status_code == 422 and slug(response) == "validation-error"

    @pytest.mark.parametrize("day", ["2026-13-01", "20261120", "yesterday"])
    async def test_a_malformed_date_is_422(self, client, make_key, data, day):
        admin = await make_key("admin")
        response = await put(client, admin, day)
        assert response.status_code == 422

    @pytest.mark.parametrize("role", ["credit_officer", "bank_system", "securitization"])
    async def test_only_admins_record_fixings(self, client, make_key, data, role):
        response = await put(client, await make_key(role), "2026-11-20")
        assert response.status_code == 403 and slug(response) == "forbidden"


class TestIfMatch:
    async def test_current_version_is_accepted_and_a_stale_one_refused(
        self, client, make_key, data, ctx
    ):
        admin = await make_key("admin")
        await put(client, admin, "2026-07-21", 335)
        ok = await put(client, admin, "2026-07-21", 330, **{"If-Match": '"1"'})
        assert ok.status_code == 200 and ok.json()["version"] == 2
        stale = await put(client, admin, "2026-07-21", 320, **{"If-Match": '"1"'})
        assert stale.status_code == 412 and slug(stale) == "precondition-failed"
        assert (await service.lpr_in_force(ctx.db, date(2026, 7, 21))).one_year_bp == 330

    async def test_tags_are_read_as_everywhere_else(self, client, make_key, data, ctx):
        # An entity tag is quoted: a bare 1 names no version; a list matches when any tag does.
        admin = await make_key("admin")
        await put(client, admin, "2026-07-21", 335)
        bare = await put(client, admin, "2026-07-21", 330, **{"If-Match": "1"})
        assert bare.status_code == 412
        listed = await put(client, admin, "2026-07-21", 330, **{"If-Match": '"7", W/"1"'})
        assert listed.status_code == 200 and listed.json()["version"] == 2

    async def test_if_match_on_a_date_without_a_fixing_fails(self, client, make_key, data):
        admin = await make_key("admin")
        response = await put(client, admin, "2026-06-22", **{"If-Match": "*"})
        assert response.status_code == 412


class TestReading:
    async def test_newest_first_in_pages(self, client, make_key, data):
        for day in ("2026-08-20", "2026-09-22", "2026-10-20", "2026-11-20"):
            await data.lpr(date.fromisoformat(day))
        reader = await make_key("securitization")
        first = await client.get("/v1/lpr", params={"limit": 3}, headers=reader)
        assert first.status_code == 200
        page = first.json()
        assert [f["fixing_date"] for f in page["items"]][:2] == ["2026-11-20", "2026-10-20"]
        assert page["next_cursor"]
        rest = await client.get(
            "/v1/lpr", params={"limit": 3, "cursor": page["next_cursor"]}, headers=reader
        )
        days = [f["fixing_date"] for f in page["items"] + rest.json()["items"]]
        assert days == sorted(days, reverse=True)
        assert "2026-08-20" in days and len(days) == len(set(days))

    async def test_on_gives_the_fixing_in_force(self, client, make_key, data):
        await data.lpr(date(2026, 9, 22), 305)
        await data.lpr(date(2026, 10, 20), 300)
        reader = await make_key("relationship_manager", "rm-7")
        for on, expected in [("2026-10-19", 305), ("2026-10-20", 300), ("2026-11-19", 300)]:
            response = await client.get("/v1/lpr", params={"on": on}, headers=reader)
            assert response.status_code == 200, on
            [fixing] = response.json()["items"]
            assert fixing["one_year_bp"] == expected
            assert response.json()["next_cursor"] is None

    async def test_on_before_any_fixing_is_409(self, client, make_key, data):
        await data.lpr(date(2026, 9, 22))
        response = await client.get(
            "/v1/lpr", params={"on": "1999-01-04"}, headers=await make_key("credit_officer")
        )
        assert response.status_code == 409 and slug(response) == "lpr-unavailable"

    async def test_lpr_in_force_for_other_domains(self, ctx, data):
        await data.lpr(date(2026, 10, 20), 300, 350)
        fixing = await service.lpr_in_force(ctx.db, date(2026, 11, 1))
        assert (fixing.fixing_date, fixing.one_year_bp, fixing.five_year_bp) == (
            date(2026, 10, 20),
            300,
            350,
        )
        assert await service.lpr_in_force(ctx.db, date(1999, 1, 1)) is None

    @pytest.mark.parametrize("cursor", ["!!", "AAAAAAAAAAA", "f39_f39_f38"])
    async def test_bad_cursor_is_422(self, client, make_key, data, cursor):
        response = await client.get(
            "/v1/lpr", params={"cursor": cursor}, headers=await make_key("admin")
        )
        assert response.status_code == 422

    async def test_bureaus_may_not_read(self, client, make_key, data):
        response = await client.get("/v1/lpr", headers=await make_key("district_bureau", "440307"))
        assert response.status_code == 403


async def _wait_until_blocked(db, pid: int) -> None:
    for _ in range(500):
        waiting = await db.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second recording never waited for the first")


@pytest.mark.committed
class TestConcurrentRecording:
    async def test_a_recording_that_loses_the_insert_race_replaces_the_winner(
        self, live_runtime, settings
    ):
        # A date no other test uses, removed afterwards: fixings are shared by every test.
        day = date(1994, 1, 3)
        database = live_runtime.database

        def ctx_on(db):
            return Ctx(db=db, principal=OPERATOR, now=NOW, settings=settings, request_id="race")

        try:
            async with (
                database.connection() as a,
                database.connection() as b,
                database.connection() as watcher,
            ):
                first, second = ctx_on(a), ctx_on(b)
                async with a.transaction():
                    _, created = await service.put_lpr(
                        first, fixing_date=day, one_year_bp=300, five_year_bp=350
                    )
                    assert created
                    b_tx = b.transaction()
                    await b_tx.start()
                    # B finds no row to lock, so its INSERT waits on A's uncommitted one.
                    racing = asyncio.create_task(
                        service.put_lpr(second, fixing_date=day, one_year_bp=301, five_year_bp=351)
                    )
                    await _wait_until_blocked(watcher, b.conn.get_server_pid())
                    await outbox.flush(first)
                try:
                    replaced, created = await racing
                    await outbox.flush(second)
                finally:
                    await b_tx.commit()
                assert (replaced.one_year_bp, replaced.version, created) == (301, 2, False)
                stored = await service.lpr_in_force(watcher, day)
                assert (stored.one_year_bp, stored.five_year_bp, stored.version) == (301, 351, 2)
                actions = await watcher.fetch(
                    "SELECT action, before FROM audit_events WHERE entity_type = 'lpr_fixing' "
                    "AND entity_id = $1 ORDER BY id",
                    str(day),
                )
                assert [a["action"] for a in actions] == [
                    "lpr_fixing.created",
                    "lpr_fixing.replaced",
                ]
                assert actions[1]["before"]["one_year_bp"] == 300
        finally:
            async with database.connection() as db:
                await db.execute("DELETE FROM lpr_fixings WHERE fixing_date = $1", day)
