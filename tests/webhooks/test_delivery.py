"""The relay against a real receiver: signed deliveries, routing by type and district, and an
outbox that sends nothing for a change that rolled back."""

from datetime import datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.core import outbox
from app.core.context import OPERATOR
from app.webhooks.relay import relay_once
from tests.webhooks.conftest import verify


class TestSignedDelivery:
    async def test_every_delivery_verifies_with_the_reference_library(
        self, runtime, clock, receiver, register, emit
    ):
        hook = receiver.hook()
        endpoint = await register(hook.url, ["loan.disbursed", "loan.paid_off"])
        disbursed = await emit("loan.disbursed", {"loan_id": "L-1", "principal": "1000000.00"})
        paid_off = await emit("loan.paid_off", {"loan_id": "L-1"})
        await emit("pool.locked", {"pool_id": "P-1"})  # not subscribed

        assert await relay_once(runtime) == 2

        by_id = {r.webhook_id: r for r in hook.requests}
        assert set(by_id) == {str(disbursed), str(paid_off)}
        for received in by_id.values():
            assert received.headers["content-type"] == "application/json"
            assert received.headers["webhook-signature"].startswith("v1,")
            payload = verify(endpoint["secret"], received)
            assert set(payload) == {"type", "timestamp", "data"}
        payload = verify(endpoint["secret"], by_id[str(disbursed)])
        assert payload["type"] == "loan.disbursed"
        assert payload["data"] == {"loan_id": "L-1", "principal": "1000000.00"}
        assert datetime.fromisoformat(payload["timestamp"]) == clock.now()

    async def test_a_tampered_delivery_is_rejected(self, runtime, receiver, register, emit):
        hook = receiver.hook()
        endpoint = await register(hook.url)
        await emit("loan.disbursed", {"loan_id": "L-2", "principal": "1000000.00"})
        await relay_once(runtime)
        [received] = hook.requests
        tampered = received.body.replace(b"1000000.00", b"9000000.00")
        assert tampered != received.body
        with pytest.raises(WebhookVerificationError):
            Webhook(endpoint["secret"]).verify(tampered, received.headers)
        with pytest.raises(WebhookVerificationError):
            other_id = {**received.headers, "webhook-id": "01930000-0000-7000-8000-000000000000"}
            Webhook(endpoint["secret"]).verify(received.body, other_id)

    async def test_delivered_once_then_left_alone(self, runtime, clock, receiver, register, emit):
        hook = receiver.hook()
        await register(hook.url)
        await emit()
        assert await relay_once(runtime) == 1
        clock.advance(days=2)
        assert await relay_once(runtime) == 0
        assert len(hook.requests) == 1


class TestRouting:
    async def test_a_district_endpoint_gets_only_its_districts_events(
        self, runtime, receiver, register, emit
    ):
        longgang, everywhere = receiver.hook(), receiver.hook()
        await register(longgang.url, ["subsidy.claim.created"], district_code="440307")
        await register(everywhere.url, ["subsidy.claim.created"])
        in_longgang = await emit("subsidy.claim.created", {"n": 1}, district_code="440307")
        in_nanshan = await emit("subsidy.claim.created", {"n": 2}, district_code="440305")
        no_district = await emit("subsidy.claim.created", {"n": 3})

        assert await relay_once(runtime) == 4

        assert [r.webhook_id for r in longgang.requests] == [str(in_longgang)]
        assert {r.webhook_id for r in everywhere.requests} == {
            str(in_longgang),
            str(in_nanshan),
            str(no_district),
        }

    async def test_a_rolled_back_change_emits_nothing(self, runtime, conn, receiver, register):
        hook = receiver.hook()
        await register(hook.url)
        with pytest.raises(RuntimeError):
            async with runtime.unit_of_work(OPERATOR, label="test") as ctx:
                event_id = outbox.emit(ctx, "loan.disbursed", {"loan_id": "L-9"})
                await outbox.flush(ctx)  # written to the outbox, then…
                raise RuntimeError("the disbursement failed after its event was written")
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox_events WHERE id = $1", event_id) == 0
        )
        assert await relay_once(runtime) == 0
        assert hook.requests == []

    async def test_a_disabled_endpoint_gets_nothing_new(
        self, client, admin, runtime, receiver, register, emit
    ):
        hook = receiver.hook()
        endpoint = await register(hook.url)
        disabled = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/disable", headers=admin
        )
        assert disabled.status_code == 200 and disabled.json()["enabled"] is False
        await emit()
        assert await relay_once(runtime) == 0
        assert hook.requests == []
