"""``quote_for_decision``: the quote an approval locks, named or priced on the spot."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.core.errors import NotFound, ValidationFailed
from app.core.ids import uuid7
from app.pricing import service
from app.pricing.errors import LprUnavailable
from tests.pricing.conftest import TODAY


@pytest.fixture
async def application(data):
    await data.lpr(date(2026, 11, 20), 300, 350)
    company = await data.enterprise(industry="other")
    asset = await data.asset(company, value="1000000.00")
    return await data.application(company, [asset], amount="2000000.00")


async def named(officer_ctx, application, amount: str, spread_bp: int = 100):
    return await service.create_quote(
        officer_ctx,
        application_id=application,
        spread_bp=spread_bp,
        quote_date=None,
        amount=Decimal(amount),
    )


class TestNamedQuote:
    async def test_the_named_quote_of_the_approved_amount_is_returned_as_kept(
        self, officer_ctx, application, conn
    ):
        kept = await named(officer_ctx, application, "1000000.00", spread_bp=80)
        locked = await service.quote_for_decision(
            officer_ctx,
            application_id=application,
            quote_id=kept.id,
            spread_bp=None,
            approved_amount=Decimal("1000000"),
        )
        assert locked == kept
        assert locked.rate_bp == 300 + 80 - 5
        count = await conn.fetchval(
            "SELECT count(*) FROM application_quotes WHERE application_id = $1", application
        )
        assert count == 1

    async def test_a_quote_for_another_amount_is_422_on_quote_id(self, officer_ctx, application):
        kept = await named(officer_ctx, application, "2000000.00")
        with pytest.raises(ValidationFailed) as refused:
            await service.quote_for_decision(
                officer_ctx,
                application_id=application,
                quote_id=kept.id,
                spread_bp=None,
                approved_amount=Decimal("1500000.00"),
            )
        assert "2000000.00" in refused.value.detail and "1500000.00" in refused.value.detail
        [error] = refused.value.extensions["errors"]
        assert error["loc"] == ["body", "quote_id"]
        assert "another amount" in error["msg"]

    async def test_a_different_spread_alongside_the_quote_is_422(self, officer_ctx, application):
        kept = await named(officer_ctx, application, "2000000.00", spread_bp=100)
        same = await service.quote_for_decision(
            officer_ctx,
            application_id=application,
            quote_id=kept.id,
            spread_bp=100,
            approved_amount=Decimal("2000000.00"),
        )
        assert same == kept
        with pytest.raises(ValidationFailed) as refused:
            await service.quote_for_decision(
                officer_ctx,
                application_id=application,
                quote_id=kept.id,
                spread_bp=120,
                approved_amount=Decimal("2000000.00"),
            )
        assert refused.value.extensions["errors"][0]["loc"] == ["body", "spread_bp"]

    async def test_a_quote_of_another_application_or_none_at_all_is_404(
        self, officer_ctx, application, data
    ):
        company = await data.enterprise()
        other = await data.application(company, [await data.asset(company)], amount="2000000.00")
        theirs = await named(officer_ctx, other, "2000000.00")
        for quote_id in (theirs.id, uuid7()):
            with pytest.raises(NotFound):
                await service.quote_for_decision(
                    officer_ctx,
                    application_id=application,
                    quote_id=quote_id,
                    spread_bp=None,
                    approved_amount=Decimal("2000000.00"),
                )


class TestFreshQuote:
    async def test_priced_today_for_the_approved_amount_kept_and_audited(
        self, officer_ctx, application, conn
    ):
        fresh = await service.quote_for_decision(
            officer_ctx,
            application_id=application,
            quote_id=None,
            spread_bp=None,
            approved_amount=Decimal("500000.00"),
        )
        assert (fresh.quote_date, fresh.amount, fresh.spread_bp) == (
            TODAY,
            Decimal("500000.00"),
            100,
        )
        assert fresh.components[0].bp == 10 and fresh.rate_bp == 390
        stored = await conn.fetchrow(
            "SELECT amount, rate_bp FROM application_quotes WHERE id = $1", fresh.id
        )
        assert (stored["amount"], stored["rate_bp"]) == (Decimal("500000.00"), 390)
        event = await conn.fetchrow(
            "SELECT * FROM audit_events WHERE entity_type = 'application_quote' AND entity_id = $1",
            str(fresh.id),
        )
        assert (event["action"], event["actor_role"], event["request_id"]) == (
            "quote.created",
            "credit_officer",
            "pricing-test",
        )
        assert event["after"]["amount"] == "500000.00" and event["after"]["rate_bp"] == 390

    async def test_the_given_spread_is_used(self, officer_ctx, application):
        fresh = await service.quote_for_decision(
            officer_ctx,
            application_id=application,
            quote_id=None,
            spread_bp=45,
            approved_amount=Decimal("2000000.00"),
        )
        assert (fresh.spread_bp, fresh.rate_bp) == (45, 345)

    async def test_the_state_is_not_checked(self, officer_ctx, application, conn):
        await conn.execute("UPDATE applications SET state = 'approved' WHERE id = $1", application)
        fresh = await service.quote_for_decision(
            officer_ctx,
            application_id=application,
            quote_id=None,
            spread_bp=None,
            approved_amount=Decimal("2000000.00"),
        )
        assert fresh.application_id == application

    async def test_more_than_requested_is_422_on_approved_amount(self, officer_ctx, application):
        with pytest.raises(ValidationFailed) as refused:
            await service.quote_for_decision(
                officer_ctx,
                application_id=application,
                quote_id=None,
                spread_bp=None,
                approved_amount=Decimal("2000000.01"),
            )
        assert refused.value.extensions["errors"][0]["loc"] == ["body", "approved_amount"]

    @pytest.mark.parametrize("amount", ["0.00", "-1.00"])
    async def test_nothing_to_approve_is_422(self, officer_ctx, application, amount):
        with pytest.raises(ValidationFailed):
            await service.quote_for_decision(
                officer_ctx,
                application_id=application,
                quote_id=None,
                spread_bp=None,
                approved_amount=Decimal(amount),
            )

    async def test_unknown_application_is_404_and_no_fixing_is_409(
        self, officer_ctx, application, conn
    ):
        with pytest.raises(NotFound):
            await service.quote_for_decision(
                officer_ctx,
                application_id=uuid7(),
                quote_id=None,
                spread_bp=None,
                approved_amount=Decimal("1.00"),
            )
        # No fixing in force at all (this test's transaction is rolled back afterwards).
        await conn.execute("DELETE FROM lpr_fixings")
        with pytest.raises(LprUnavailable):
            await service.quote_for_decision(
                officer_ctx,
                application_id=application,
                quote_id=None,
                spread_bp=None,
                approved_amount=Decimal("1.00"),
            )
