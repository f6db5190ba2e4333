"""Hostile input: SQL injection in path ids, query filters, headers and body strings, and
oversized input, answer a clean 4xx problem (or, where text is legal, are stored verbatim as
text) and change nothing; nothing of the kind earns a 500.

tests/core/test_errors.py already covers malformed JSON, NaN, 415, a body over the limit
(declared and streamed) and 100,000 levels of nesting on one endpoint.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import pytest

from app.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from tests.conftest import problem_of
from tests.security.world import World, build_world

INJECTIONS = [
    "' OR 1=1 --",
    "'; DROP TABLE applications; --",
    "1; SELECT pg_sleep(0) --",
    '" OR ""="',
    "0190a0a0-0000-7000-8000-000000000000' OR '1'='1",
    "%' OR '%'='",
]
# Tables an injection would aim at; they must hold exactly what they held before.
WATCHED = ["applications", "loans", "pledges", "enterprises", "api_keys", "subsidy_claims"]


@pytest.fixture
async def world(client, make_key, conn, clock) -> World:
    return await build_world(client, make_key, conn, clock)


def _credit_code() -> str:
    """A valid unified social credit code no other test has used."""
    first = "9144" + "".join(secrets.choice(CREDIT_CODE_ALPHABET) for _ in range(13))
    return first + credit_code_check_char(first)


async def _counts(conn) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in WATCHED}


def _clean_4xx(response) -> dict:
    assert 400 <= response.status_code < 500, response.text
    return problem_of(response)


# Every by-id operation, with the role that may call it.
BY_ID = [
    ("GET", "/v1/applications/{}", "admin"),
    ("POST", "/v1/applications/{}/submit", "bank_system"),
    ("POST", "/v1/applications/{}/review", "credit_officer"),
    ("GET", "/v1/applications/{}/quotes", "credit_officer"),
    ("GET", "/v1/enterprises/{}", "admin"),
    ("GET", "/v1/ip-assets/{}", "admin"),
    ("GET", "/v1/loans/{}", "admin"),
    ("POST", "/v1/loans/{}/default", "credit_officer"),
    ("GET", "/v1/pledges/{}", "admin"),
    ("GET", "/v1/subsidy-programs/{}", "admin"),
    ("GET", "/v1/subsidy-claims/{}", "admin"),
    ("GET", "/v1/webhook-endpoints/{}", "admin"),
    ("POST", "/v1/webhook-events/{}/redeliver", "admin"),
    ("POST", "/v1/api-keys/{}/revoke", "admin"),
    ("GET", "/v1/pools/{}", "securitization"),
    ("GET", "/v1/lpr?cursor={}", "admin"),
    ("GET", "/v1/calendar/years/{}", "admin"),
    ("PUT", "/v1/lpr/{}", "admin"),
]


class TestSqlInjection:
    @pytest.mark.parametrize("injection", INJECTIONS)
    async def test_in_path_ids_is_a_clean_4xx_and_changes_nothing(self, world, conn, injection):
        before = await _counts(conn)
        for method, template, role in BY_ID:
            url = template.format(quote(injection, safe=""))
            body = {"one_year_bp": 300, "five_year_bp": 350} if method == "PUT" else None
            response = await world.client.request(method, url, json=body, headers=world.keys[role])
            problem = _clean_4xx(response)
            assert "SELECT" not in problem["detail"] and "syntax" not in problem["detail"]
        assert await _counts(conn) == before

    @pytest.mark.parametrize("injection", INJECTIONS)
    @pytest.mark.parametrize(
        ("path", "name", "role"),
        [
            ("/v1/applications", "relationship_manager_id", "admin"),
            ("/v1/applications", "state", "admin"),
            ("/v1/applications", "district_code", "admin"),
            ("/v1/applications", "industry", "admin"),
            ("/v1/applications", "received_from", "admin"),
            ("/v1/applications", "cursor", "admin"),
            ("/v1/loans", "enterprise_id", "admin"),
            ("/v1/loans", "relationship_manager_id", "admin"),
            ("/v1/pledges", "application_id", "admin"),
            ("/v1/pledges", "ip_asset_id", "admin"),
            ("/v1/subsidy-claims", "program_id", "admin"),
            ("/v1/audit-events", "entity_type", "admin"),
            ("/v1/audit-events", "entity_id", "admin"),
            ("/v1/audit-events", "cursor", "admin"),
            ("/v1/webhook-events", "type", "admin"),
            ("/v1/enterprises", "cursor", "admin"),
            ("/v1/calendar/working-days", "from", "admin"),
            ("/v1/reports/sla", "from", "admin"),
        ],
    )
    async def test_in_query_filters_finds_nothing_or_is_a_clean_4xx(
        self, world, conn, path, name, role, injection
    ):
        before = await _counts(conn)
        response = await world.client.get(path, params={name: injection}, headers=world.keys[role])
        if response.status_code == 200:
            # Taken as the text it is: it matches no record (an injection would match all).
            assert response.json()["items"] == [], response.text
        else:
            _clean_4xx(response)
        assert await _counts(conn) == before

    @pytest.mark.parametrize("injection", INJECTIONS)
    async def test_in_body_text_is_stored_verbatim(self, world, conn, injection):
        desk = world.desk
        created = await world.client.post(
            "/v1/enterprises",
            json={
                "name": injection,
                "credit_code": _credit_code(),
                "district_code": "440307",
                "industry": "other",
                "high_tech": False,
                "cross_border": False,
            },
            headers=desk.bank,
        )
        assert created.status_code == 201, created.text
        read = await world.client.get(f"/v1/enterprises/{created.json()['id']}", headers=desk.bank)
        assert read.json()["name"] == injection

        application = await desk.create(purpose=injection)
        assert (await desk.get(application))["purpose"] == injection
        withdrawn = await desk.act(application, "withdraw", headers=desk.rm, reason=injection)
        assert withdrawn["withdraw_reason"] == injection
        assert await conn.fetchval("SELECT to_regclass('applications') IS NOT NULL")
        assert (
            await conn.fetchval("SELECT count(*) FROM applications WHERE purpose = $1", injection)
            == 1
        )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("credit_code", "' OR 1=1 --"),
            ("district_code", "440307' OR '1'='1"),
            ("industry", "other'; DROP TABLE enterprises; --"),
        ],
    )
    async def test_in_coded_body_fields_is_422(self, world, conn, field, value):
        before = await _counts(conn)
        body = {
            "name": "Hostile Co.",
            "credit_code": _credit_code(),
            "district_code": "440307",
            "industry": "other",
            "high_tech": False,
            "cross_border": False,
            field: value,
        }
        response = await world.client.post("/v1/enterprises", json=body, headers=world.desk.bank)
        assert response.status_code == 422, response.text
        assert ["body", field] in [e["loc"] for e in problem_of(response)["errors"]]
        assert await _counts(conn) == before

    @pytest.mark.parametrize("injection", INJECTIONS)
    async def test_in_headers_is_harmless(self, world, conn, injection):
        before = await _counts(conn)
        app_id = world.ids["application_id"]
        stale = await world.client.post(
            f"/v1/applications/{app_id}/withdraw",
            json={"reason": "r"},
            headers={**world.desk.rm, "If-Match": injection},
        )
        assert stale.status_code == 412, stale.text
        problem_of(stale)
        traced = await world.client.get(
            f"/v1/applications/{app_id}", headers={**world.desk.rm, "X-Request-ID": injection}
        )
        assert traced.status_code == 200
        assert traced.headers["x-request-id"] != injection
        keyed = await world.client.post(
            "/v1/api-keys",
            json={"role": "securitization"},
            headers={**world.keys["admin"], "Idempotency-Key": injection},
        )
        assert keyed.status_code in (201, 422), keyed.text
        if keyed.status_code == 422:
            problem_of(keyed)
        before["api_keys"] += keyed.status_code == 201
        assert await _counts(conn) == before


LIST_OPERATIONS = [
    ("/v1/enterprises", "admin"),
    ("/v1/ip-assets", "admin"),
    ("/v1/applications", "admin"),
    ("/v1/lpr", "admin"),
    ("/v1/pledges", "admin"),
    ("/v1/loans", "admin"),
    ("/v1/subsidy-programs", "admin"),
    ("/v1/subsidy-claims", "admin"),
    ("/v1/api-keys", "admin"),
    ("/v1/audit-events", "admin"),
    ("/v1/webhook-endpoints", "admin"),
    ("/v1/webhook-events", "admin"),
    ("/v1/pools", "securitization"),
]


class TestOversizedInput:
    @pytest.mark.parametrize(("path", "role"), LIST_OPERATIONS)
    @pytest.mark.parametrize("limit", ["100000", "201", "0", "-1", "1e3", "9" * 40])
    async def test_a_page_size_out_of_range_is_422(self, world, path, role, limit):
        response = await world.client.get(path, params={"limit": limit}, headers=world.keys[role])
        assert response.status_code == 422, response.text
        assert ["query", "limit"] in [e["loc"] for e in problem_of(response)["errors"]]

    @pytest.mark.parametrize(("path", "role"), LIST_OPERATIONS)
    async def test_the_largest_page_is_accepted(self, world, path, role):
        response = await world.client.get(path, params={"limit": "200"}, headers=world.keys[role])
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/applications", {"relationship_manager_id": "R" * 20_000}),
            ("/v1/applications", {"cursor": "A" * 20_000}),
            ("/v1/audit-events", {"entity_id": "e" * 20_000}),
            ("/v1/audit-events", {"cursor": "A" * 20_000}),
            ("/v1/loans", {"enterprise_id": "9" * 20_000}),
            ("/v1/calendar/working-days", {"from": "2026-01-05", "add": "9" * 5_000}),
            ("/v1/applications", {"industry": ["x" * 100] * 400}),
        ],
    )
    async def test_long_query_strings_are_clean_problems(self, world, path, params):
        response = await world.client.get(path, params=params, headers=world.keys["admin"])
        if response.status_code == 200:
            assert response.json().get("items", []) == []
        else:
            _clean_4xx(response)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("purpose", "x" * 500_000),
            ("purpose", "汉" * 100_000),
            ("ip_asset_ids", ["0190a0a0-0000-7000-8000-000000000000"] * 20_000),
            ("term_months", 10**400),
            ("amount", "9" * 100_000),
            ("relationship_manager_id", "R" * 100_000),
        ],
        ids=["long-ascii", "long-utf8", "huge-array", "huge-int", "huge-money", "long-rm"],
    )
    async def test_oversized_fields_are_422_and_change_nothing(self, world, conn, field, value):
        from tests import factories

        before = await _counts(conn)
        body = factories.application_body(
            world.desk.enterprise_id, [world.desk.assets[0]], **{field: value}
        )
        response = await world.client.post("/v1/applications", json=body, headers=world.desk.rm)
        assert response.status_code in (413, 422), response.text
        problem = problem_of(response)
        if response.status_code == 422:
            assert ["body", field] in [e["loc"] for e in problem["errors"]]
        assert len(response.content) < 20_000, "the problem does not echo the input back"
        assert await _counts(conn) == before

    @pytest.mark.parametrize("depth", [50, 5_000, 200_000])
    async def test_deep_nesting_inside_a_field_is_a_clean_problem(self, world, conn, depth):
        before = await _counts(conn)
        nested = b"[" * depth + b"]" * depth
        body = b'{"name": ' + nested + b', "credit_code": "' + _credit_code().encode() + b'"}'
        response = await world.client.post(
            "/v1/enterprises",
            content=body,
            headers={**world.desk.bank, "Content-Type": "application/json"},
        )
        assert response.status_code in (413, 422), response.text
        problem_of(response)
        assert await _counts(conn) == before

    async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(self, world, settings):
        prefix, suffix = b'{"reason": "', b'"}'
        filler = settings.max_body_bytes - len(prefix) - len(suffix)
        at_limit = prefix + b"x" * filler + suffix
        url = f"/v1/applications/{world.ids['application_id']}/withdraw"
        headers = {**world.desk.rm, "Content-Type": "application/json"}
        read = await world.client.post(url, content=at_limit, headers=headers)
        assert read.status_code == 422, read.text  # read and validated: the reason is too long
        assert ["body", "reason"] in [e["loc"] for e in problem_of(read)["errors"]]
        over = await world.client.post(url, content=at_limit + b" ", headers=headers)
        assert over.status_code == 413
        assert problem_of(over)["type"].endswith("/problems/payload-too-large")
