"""Another subject's ids: a relationship manager naming another manager's application, loan or
pledge, and a district bureau naming another district's programme or claim, get exactly the
answer an id that does not exist gets (404, same problem, same detail), and change nothing.

tests/applications/test_visibility.py, tests/loans/test_disbursement.py,
tests/pledges/test_pledges.py and tests/subsidies/test_subsidies.py already check the plain
404s and unfiltered lists; these tables add every by-id operation such a caller may reach, the
identical-to-unknown answer, filters that name the other subject, and Idempotency-Key replays.
"""

from __future__ import annotations

import pytest

from tests.security.world import OTHER_DISTRICT, UNKNOWN_ID, World, build_world


@pytest.fixture
async def world(client, make_key, conn, clock) -> World:
    return await build_world(client, make_key, conn, clock)


@pytest.fixture
async def other_rm(make_key, world):
    return await make_key("relationship_manager", world.desk.rm_id + "X")


@pytest.fixture
async def other_bureau(make_key):
    return await make_key("district_bureau", OTHER_DISTRICT)


def _problem(response) -> tuple:
    body = response.json()
    return (
        response.status_code,
        response.headers["content-type"],
        body["type"],
        body["title"],
        body["detail"],
    )


async def _same_as_unknown(client, method, template, ids, key, body, id_name):
    real = template.format(**ids)
    unknown = template.format(**{**ids, id_name: UNKNOWN_ID})
    theirs = await client.request(method, real, json=body, headers=key)
    nothing = await client.request(method, unknown, json=body, headers=key)
    assert theirs.status_code == 404, (method, real, theirs.text)
    assert _problem(theirs) == _problem(nothing), (theirs.text, nothing.text)


# (method, path, body, the id that belongs to someone else)
RM_OPERATIONS = [
    ("GET", "/v1/applications/{application_id}", None, "application_id"),
    ("POST", "/v1/applications/{application_id}/submit", None, "application_id"),
    ("POST", "/v1/applications/{application_id}/withdraw", {"reason": "x"}, "application_id"),
    ("GET", "/v1/loans/{loan_id}", None, "loan_id"),
    ("GET", "/v1/loans/{loan_id}?as_of=2026-03-31", None, "loan_id"),
    ("GET", "/v1/loans/{loan_id}/payoff", None, "loan_id"),
    ("GET", "/v1/pledges/{pledge_id}", None, "pledge_id"),
]


class TestAnotherRelationshipManager:
    @pytest.mark.parametrize(
        ("method", "path", "body", "id_name"),
        RM_OPERATIONS,
        ids=[f"{m} {p}" for m, p, *_ in RM_OPERATIONS],
    )
    async def test_their_ids_answer_as_if_they_did_not_exist(
        self, world, other_rm, conn, method, path, body, id_name
    ):
        before = await conn.fetchval("SELECT max(version) FROM applications")
        events = await conn.fetchval("SELECT count(*) FROM audit_events")
        await _same_as_unknown(world.client, method, path, world.ids, other_rm, body, id_name)
        assert await conn.fetchval("SELECT max(version) FROM applications") == before
        assert await conn.fetchval("SELECT count(*) FROM audit_events") == events
        # The owner, asking the same, is answered: the 404 is about who asks.
        owner = await world.client.request(
            method, path.format(**world.ids), json=body, headers=world.desk.rm
        )
        assert owner.status_code != 404, owner.text

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/applications", {"relationship_manager_id": "{rm}"}),
            ("/v1/applications", {"district_code": "440307"}),
            ("/v1/loans", {"relationship_manager_id": "{rm}"}),
            ("/v1/loans", {"enterprise_id": "{enterprise_id}"}),
            ("/v1/pledges", {"application_id": "{application_id}"}),
            ("/v1/pledges", {"ip_asset_id": "{asset_id}"}),
        ],
    )
    async def test_filters_naming_their_records_do_not_widen_a_list(
        self, world, other_rm, path, params
    ):
        values = {**world.ids, "rm": world.desk.rm_id}
        query = {k: v.format(**values) for k, v in params.items()}
        theirs = await world.client.get(path, params=query, headers=other_rm)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["items"] == []
        own = await world.client.get(path, params=query, headers=world.desk.rm)
        assert own.json()["items"], "the owner sees them, so the list above is not empty by chance"

    async def test_an_idempotency_key_replays_only_to_the_caller_who_used_it(
        self, world, other_rm, conn
    ):
        """Another manager reusing the owner's Idempotency-Key (same path, same body) must not
        get the owner's application replayed."""
        from tests import factories

        asset = await factories.ip_asset(conn, world.desk.enterprise_id)
        body = factories.application_body(world.desk.enterprise_id, [asset])
        key = {"Idempotency-Key": "shared-key-0001"}
        mine = await world.client.post(
            "/v1/applications", json=body, headers={**world.desk.rm, **key}
        )
        assert mine.status_code == 201, mine.text
        theirs = await world.client.post("/v1/applications", json=body, headers={**other_rm, **key})
        assert theirs.headers.get("idempotent-replayed") != "true"
        assert mine.json()["id"] not in theirs.text


# (method, path, body, the id that belongs to another district)
BUREAU_OPERATIONS = [
    ("GET", "/v1/subsidy-programs/{program_id}", None, "program_id"),
    ("GET", "/v1/subsidy-claims/{claim_id}", None, "claim_id"),
    ("POST", "/v1/subsidy-claims/{claim_id}/decision", {"outcome": "approved"}, "claim_id"),
    (
        "POST",
        "/v1/subsidy-claims/{claim_id}/decision",
        {"outcome": "rejected", "reason": "not ours"},
        "claim_id",
    ),
    ("POST", "/v1/subsidy-claims/{claim_id}/payment", {"paid_on": "2026-04-10"}, "claim_id"),
]


class TestAnotherDistrictsBureau:
    @pytest.mark.parametrize(
        ("method", "path", "body", "id_name"),
        BUREAU_OPERATIONS,
        ids=[f"{m} {p} {b}" for m, p, b, _ in BUREAU_OPERATIONS],
    )
    async def test_their_ids_answer_as_if_they_did_not_exist(
        self, world, other_bureau, conn, method, path, body, id_name
    ):
        claim_before = await conn.fetchrow(
            "SELECT state, version FROM subsidy_claims WHERE id = $1::uuid", world.ids["claim_id"]
        )
        await _same_as_unknown(world.client, method, path, world.ids, other_bureau, body, id_name)
        claim_after = await conn.fetchrow(
            "SELECT state, version FROM subsidy_claims WHERE id = $1::uuid", world.ids["claim_id"]
        )
        assert claim_after == claim_before
        owner = await world.client.request(
            method, path.format(**world.ids), json=body, headers=world.keys["district_bureau"]
        )
        assert owner.status_code != 404, owner.text

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/subsidy-programs", {"district_code": "440307"}),
            ("/v1/subsidy-programs", {"kind": "interest_subsidy"}),
            ("/v1/subsidy-claims", {"program_id": "{program_id}"}),
            ("/v1/subsidy-claims", {"state": "pending"}),
        ],
    )
    async def test_filters_naming_their_records_do_not_widen_a_list(
        self, world, other_bureau, path, params
    ):
        query = {k: v.format(**world.ids) for k, v in params.items()}
        theirs = await world.client.get(path, params=query, headers=other_bureau)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["items"] == []
        own = await world.client.get(path, params=query, headers=world.keys["district_bureau"])
        assert own.json()["items"]

    async def test_the_subsidy_report_shows_only_their_district(self, world, other_bureau):
        params = {"from": "2026-01-01", "to": "2026-12-31"}
        theirs = await world.client.get(
            "/v1/reports/subsidies", params=params, headers=other_bureau
        )
        assert theirs.status_code == 200, theirs.text
        assert world.ids["program_id"] not in theirs.text
        own = await world.client.get(
            "/v1/reports/subsidies", params=params, headers=world.keys["district_bureau"]
        )
        assert own.status_code == 200, own.text
        assert world.ids["program_id"] in own.text
