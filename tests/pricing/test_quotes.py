"""Quotes through the API: the facts gathered from the database, the rules around them, and
the quote kept and audited."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.core import journal
from app.core.db import Db
from app.core.ids import uuid7
from app.pricing import repository, service
from tests.conftest import problem_of, slug
from tests.pricing.conftest import FUTIAN, LONGGANG, NOW, TODAY


async def quote(client, headers, application_id, **body):
    return await client.post(
        f"/v1/applications/{application_id}/quotes", json=body, headers=headers
    )


def bp(quote_json, code):
    [found] = [c for c in quote_json["components"] if c["code"] == code]
    return found["bp"]


async def _quotes_of(conn, application_id) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM application_quotes WHERE application_id = $1", application_id
    )


@pytest.fixture
async def officer(make_key):
    return await make_key("credit_officer")


@pytest.fixture
async def lpr(data):
    await data.lpr(date(2026, 10, 20), 310, 360)
    await data.lpr(date(2026, 11, 20), 300, 350)


class TestPricing:
    async def test_every_component_earned_is_capped_and_the_quote_kept(
        self, client, make_key, officer, data, lpr, conn
    ):
        company = await data.enterprise(industry="artificial_intelligence")
        program = await data.program()
        patent = await data.asset(company, kind="invention_patent", value="2500000.00")
        application = await data.application(company, [patent], amount="1000000.00")
        response = await quote(client, officer, application)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["application_id"] == str(application)
        assert (body["quote_date"], body["amount"], body["term_months"]) == (
            str(TODAY),
            "1000000.00",
            12,
        )
        assert (body["lpr_bp"], body["lpr_date"], body["spread_bp"]) == (300, "2026-11-20", 100)
        assert [(c["code"], c["bp"]) for c in body["components"]] == [
            ("pledge_coverage", 10),
            ("invention_patent", 5),
            ("priority_industry", 5),
            ("district_risk_sharing", 5),
        ]
        assert (body["discount_uncapped_bp"], body["discount_bp"], body["rate_bp"]) == (25, 20, 380)
        assert body["created_at"] == "2026-11-23T10:00:00+08:00"
        coverage = body["components"][0]["facts"]
        assert coverage["counted_valuation_total"] == "2500000.00"
        assert coverage["coverage_ratio"] == "2.5000"
        assert coverage["maturity_date"] == "2027-11-23"
        assert body["components"][3]["facts"]["risk_compensation_program_id"] == str(program)

        stored = await conn.fetchrow(
            "SELECT * FROM application_quotes WHERE id = $1", UUID(body["id"])
        )
        assert stored["rate_bp"] == 380 and stored["components"] == body["components"]
        assert str(stored["created_by"]) == officer["X-Key-Id"]
        listed = await client.get(f"/v1/applications/{application}/quotes", headers=officer)
        assert listed.json()["items"] == [body]

        events = await client.get(
            "/v1/audit-events",
            params={"entity_type": "application_quote", "entity_id": body["id"]},
            headers=await make_key("admin"),
        )
        [event] = events.json()["items"]
        assert event["action"] == "quote.created"
        assert event["actor_key_id"] == officer["X-Key-Id"]
        assert event["after"]["rate_bp"] == 380 and event["after"]["amount"] == "1000000.00"
        assert event["after"]["components"] == {
            "pledge_coverage": 10,
            "invention_patent": 5,
            "priority_industry": 5,
            "district_risk_sharing": 5,
        }

    async def test_nothing_earned(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other", district_code=FUTIAN)
        trademark = await data.asset(company, kind="trademark")
        application = await data.application(company, [trademark])
        body = (await quote(client, officer, application, spread_bp=150)).json()
        assert [c["bp"] for c in body["components"]] == [0, 0, 0, 0]
        assert body["rate_bp"] == 450
        coverage = body["components"][0]["facts"]
        assert coverage["counted_valuation_total"] == "0.00"
        assert coverage["not_counted"][0]["reasons"] == ["no_valuation"]

    async def test_spread_and_amount_are_the_officers_to_choose(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other")
        asset = await data.asset(company, value="1000000.00")
        application = await data.application(company, [asset], amount="2000000.00")
        whole = (await quote(client, officer, application, spread_bp=0)).json()
        assert (whole["amount"], bp(whole, "pledge_coverage"), whole["rate_bp"]) == (
            "2000000.00",
            0,
            300,
        )
        part = (await quote(client, officer, application, amount="500000", spread_bp=0)).json()
        assert (part["amount"], bp(part, "pledge_coverage"), part["rate_bp"]) == (
            "500000.00",
            10,
            290,
        )
        assert part["components"][0]["facts"]["coverage_ratio"] == "2.0000"


class TestFactsFromTheDatabase:
    async def test_valuations_current_and_fresh_on_the_quote_date(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other")
        # Revalued lower since: the newest valuation is the current one.
        revalued = await data.asset(company, value="3000000.00", valued_on=date(2026, 6, 1))
        await data.valuation(revalued, "400000.00", date(2026, 9, 1))
        # Two valuations on one day: the later one (by id) wins.
        earlier_id, later_id = sorted([uuid7(), uuid7()])
        same_day = await data.asset(company)
        await data.valuation(same_day, "300000.00", date(2026, 9, 1), valuation_id=later_id)
        await data.valuation(same_day, "100000.00", date(2026, 9, 1), valuation_id=earlier_id)
        # 365 days old counts; 366 does not.
        oldest = await data.asset(company, value="300000.00", valued_on=TODAY - timedelta(365))
        too_old = await data.asset(company, value="9000000.00", valued_on=TODAY - timedelta(366))
        application = await data.application(
            company, [revalued, same_day, oldest, too_old], amount="1000000.00"
        )
        body = (await quote(client, officer, application)).json()
        coverage = body["components"][0]
        assert coverage["facts"]["counted_valuation_total"] == "1000000.00"
        assert coverage["bp"] == 5
        [refused] = coverage["facts"]["not_counted"]
        assert refused["ip_asset_id"] == str(too_old)
        assert refused["reasons"] == ["valuation_older_than_365_days"]

    async def test_a_backdated_quote_uses_what_was_known_then(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other")
        asset = await data.asset(company, value="1000000.00", valued_on=date(2026, 9, 1))
        await data.valuation(asset, "2000000.00", date(2026, 11, 1))
        application = await data.application(company, [asset])
        then = (await quote(client, officer, application, quote_date="2026-10-31")).json()
        assert (then["lpr_bp"], then["lpr_date"]) == (310, "2026-10-20")
        assert then["components"][0]["facts"]["counted"][0]["value"] == "1000000.00"
        assert (bp(then, "pledge_coverage"), then["rate_bp"]) == (5, 405)
        now = (await quote(client, officer, application)).json()
        assert (bp(now, "pledge_coverage"), now["rate_bp"]) == (10, 390)

    async def test_protection_must_outlast_the_maturity(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other")
        maturity = date(2028, 11, 23)  # 24 months from TODAY
        at_maturity = await data.asset(company, value="5000000.00", protection_expires_on=maturity)
        unknown = await data.asset(company, value="1000000.00", protection_expires_on=None)
        after = await data.asset(
            company, value="1000000.00", protection_expires_on=maturity + timedelta(1)
        )
        application = await data.application(company, [at_maturity, unknown, after], term_months=24)
        facts = (await quote(client, officer, application)).json()["components"][0]["facts"]
        assert facts["maturity_date"] == str(maturity)
        assert facts["counted_valuation_total"] == "2000000.00"
        protections = {a["ip_asset_id"]: a["protection"] for a in facts["counted"]}
        assert protections == {
            str(unknown): "unknown_expiry_counted_as_outlasting",
            str(after): "outlasts_maturity",
        }
        assert facts["not_counted"][0]["reasons"] == ["protection_does_not_outlast_maturity"]

    async def test_only_the_applications_own_assets_count(self, client, officer, data, lpr):
        company = await data.enterprise(industry="other")
        mine = await data.asset(company, value="1000000.00")
        other_patent = await data.asset(company, kind="invention_patent", value="9000000.00")
        await data.application(company, [other_patent])
        application = await data.application(company, [mine])
        body = (await quote(client, officer, application)).json()
        assert (bp(body, "pledge_coverage"), bp(body, "invention_patent")) == (5, 0)

    @pytest.mark.parametrize(
        "program,earns",
        [
            ({}, True),
            ({"industries": ["biomedicine", "low_carbon"]}, True),
            ({"industries": ["low_carbon"]}, False),
            ({"district_code": FUTIAN}, False),
            ({"kind": "interest_subsidy"}, False),
            ({"effective_from": TODAY}, True),
            ({"effective_from": TODAY + timedelta(1)}, False),
            ({"effective_to": TODAY}, True),
            ({"effective_from": date(2026, 1, 1), "effective_to": TODAY - timedelta(1)}, False),
        ],
    )
    async def test_active_risk_compensation_programme_of_the_district(
        self, client, officer, data, lpr, program, earns
    ):
        company = await data.enterprise(industry="biomedicine", district_code=LONGGANG)
        program_id = await data.program(**program)
        application = await data.application(company, [await data.asset(company)])
        body = (await quote(client, officer, application)).json()
        sharing = body["components"][3]
        assert sharing["bp"] == (5 if earns else 0)
        assert sharing["facts"]["district_code"] == LONGGANG
        assert sharing["facts"]["risk_compensation_program_id"] == (
            str(program_id) if earns else None
        )


class TestRules:
    @pytest.mark.parametrize("state", ["submitted", "under_review", "awaiting_information"])
    async def test_quotable_states(self, client, officer, data, lpr, state):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)], state=state)
        assert (await quote(client, officer, application)).status_code == 201

    @pytest.mark.parametrize("state", ["draft", "approved", "declined", "withdrawn", "disbursed"])
    async def test_other_states_are_409(self, client, officer, data, lpr, state, conn):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)], state=state)
        response = await quote(client, officer, application)
        assert response.status_code == 409 and slug(response) == "invalid-state-transition"
        assert await _quotes_of(conn, application) == 0

    async def test_no_fixing_on_or_before_the_quote_date_is_409(self, client, officer, data, lpr):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        # The reformed LPR was first fixed on 20 August 2019: nothing is in force the day before.
        response = await quote(client, officer, application, quote_date="2019-08-19")
        assert response.status_code == 409 and slug(response) == "lpr-unavailable"

    async def test_unknown_or_malformed_application_is_404(self, client, officer, data, lpr):
        for application_id in (uuid7(), "not-an-id"):
            response = await quote(client, officer, application_id)
            assert response.status_code == 404 and slug(response) == "not-found"

    async def test_future_quote_date_is_422(self, client, officer, data, lpr):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        response = await quote(client, officer, application, quote_date=str(TODAY + timedelta(1)))
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "quote_date"]

    async def test_amount_above_the_requested_is_422(self, client, officer, data, lpr):
        company = await data.enterprise()
        application = await data.application(
            company, [await data.asset(company)], amount="1000000.00"
        )
        response = await quote(client, officer, application, amount="1000000.01")
        assert response.status_code == 422
        assert problem_of(response)["errors"][0]["loc"] == ["body", "amount"]

    @pytest.mark.parametrize(
        "body",
        [
            {"spread_bp": -1},
            {"spread_bp": 10001},
            {"spread_bp": "100"},
            {"spread_bp": 1.5},
            {"amount": "0.00"},
            {"amount": "100.001"},
            {"quote_date": "23/11/2026"},
            {"rate_bp": 1},
        ],
    )
    async def test_malformed_bodies_are_422(self, client, officer, data, lpr, body):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        response = await quote(client, officer, application, **body)
        assert response.status_code == 422 and slug(response) == "validation-error"

    async def test_no_body_prices_with_the_defaults(self, client, officer, data, lpr):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        response = await client.post(f"/v1/applications/{application}/quotes", headers=officer)
        assert response.status_code == 201 and response.json()["spread_bp"] == 100

    @pytest.mark.parametrize("role", ["relationship_manager", "bank_system", "admin"])
    async def test_only_credit_officers_quote(self, client, make_key, data, lpr, role):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        headers = await make_key(role, "rm-1" if role == "relationship_manager" else None)
        assert (await quote(client, headers, application)).status_code == 403
        listed = await client.get(f"/v1/applications/{application}/quotes", headers=headers)
        # Admins read everything, quotes too; they never quote (decision 0004).
        assert listed.status_code == (200 if role == "admin" else 403)

    async def test_idempotency_key_replays_the_quote(self, client, officer, data, lpr, conn):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        headers = {**officer, "Idempotency-Key": "quote-once"}
        first = await quote(client, headers, application, spread_bp=90)
        second = await quote(client, headers, application, spread_bp=90)
        assert second.content == first.content
        assert second.headers["idempotent-replayed"] == "true"
        assert await _quotes_of(conn, application) == 1


class TestListing:
    async def test_newest_first_in_pages(self, client, officer, data, lpr):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        other = await data.application(company, [await data.asset(company)])
        await quote(client, officer, other)
        ids = [
            (await quote(client, officer, application, spread_bp=s)).json()["id"]
            for s in (100, 110, 120)
        ]
        first = (
            await client.get(
                f"/v1/applications/{application}/quotes", params={"limit": 2}, headers=officer
            )
        ).json()
        newest_first = sorted(ids, reverse=True)
        assert [q["id"] for q in first["items"]] == newest_first[:2]
        rest = (
            await client.get(
                f"/v1/applications/{application}/quotes",
                params={"limit": 2, "cursor": first["next_cursor"]},
                headers=officer,
            )
        ).json()
        assert [q["id"] for q in rest["items"]] == newest_first[2:]
        assert rest["next_cursor"] is None

    async def test_an_application_without_quotes_lists_none(self, client, officer, data):
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        response = await client.get(f"/v1/applications/{application}/quotes", headers=officer)
        assert response.status_code == 200 and response.json() == {
            "items": [],
            "next_cursor": None,
        }

    async def test_unknown_application_is_404(self, client, officer, data):
        for application_id in (uuid7(), "nope"):
            response = await client.get(
                f"/v1/applications/{application_id}/quotes", headers=officer
            )
            assert response.status_code == 404


class TestRoundTrips:
    async def test_a_quote_is_two_statements(self, client, officer, data, lpr, conn):
        company = await data.enterprise()
        program = await data.program()
        assets = [await data.asset(company, value="600000.00") for _ in range(5)]
        application = await data.application(company, assets)
        # The first request caches the key and the connection's statements and type codecs.
        assert (await quote(client, officer, application)).status_code == 201
        statements: list[str] = []

        def log(record):
            # The test harness wraps each request in a savepoint (tests/conftest.py); that is
            # not the service's doing, and production has no such statements.
            if not record.query.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")):
                statements.append(record.query)

        conn.add_query_logger(log)
        try:
            response = await quote(client, officer, application)
            await asyncio.sleep(0.05)  # loggers are called soon after the query, not during it
        finally:
            conn.remove_query_logger(log)
        assert response.status_code == 201
        assert response.json()["components"][3]["facts"]["risk_compensation_program_id"] == str(
            program
        )
        # No transaction block either: the facts, then the quote with its audit event.
        assert len(statements) == 2, statements
        assert "lpr_fixings" in statements[0] and "subsidy_programs" in statements[0]
        assert "INSERT INTO application_quotes" in statements[1]
        assert "INSERT INTO audit_events" in statements[1]


class TestStateGuard:
    async def test_a_quote_is_not_kept_once_the_application_has_moved_on(self, data, conn, lpr):
        # What a decision landing between reading the facts and writing the quote looks like:
        # the write checks the state itself and keeps neither the quote nor its audit event.
        company = await data.enterprise()
        application = await data.application(company, [await data.asset(company)])
        quote_id = uuid7()
        actor = journal.Actor(
            at=NOW, key_id=None, role="credit_officer", subject=None, request_id="guard"
        )
        columns = {
            "id": quote_id,
            "application_id": application,
            "quote_date": TODAY,
            "amount": Decimal("1000000.00"),
            "term_months": 12,
            "lpr_bp": 300,
            "lpr_date": date(2026, 11, 20),
            "spread_bp": 100,
            "components": [],
            "discount_uncapped_bp": 0,
            "discount_bp": 0,
            "rate_bp": 400,
        }
        await conn.execute("UPDATE applications SET state = 'approved' WHERE id = $1", application)
        kept = await repository.insert_quote(
            Db(conn),
            quote=columns,
            created_by=actor,
            audit_after={},
            only_in_states=service.QUOTABLE_STATES,
        )
        assert kept is False
        assert await _quotes_of(conn, application) == 0
        events = "SELECT count(*) FROM audit_events WHERE entity_id = $1"
        assert await conn.fetchval(events, str(quote_id)) == 0
        await conn.execute(
            "UPDATE applications SET state = 'under_review' WHERE id = $1", application
        )
        kept = await repository.insert_quote(
            Db(conn),
            quote=columns,
            created_by=actor,
            audit_after={"rate_bp": 400},
            only_in_states=service.QUOTABLE_STATES,
        )
        assert kept is True
        assert await _quotes_of(conn, application) == 1
        assert await conn.fetchval(events, str(quote_id)) == 1
