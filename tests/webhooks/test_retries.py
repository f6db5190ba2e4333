"""When a receiver fails: the retry schedule (moved by the test's clock, never slept through),
Retry-After, timeouts, 410 Gone, the final failure and redelivery, and addresses refused at
delivery time."""

import asyncio
from datetime import timedelta

from app.core.runtime import Runtime
from app.webhooks.relay import relay_once
from tests.conftest import make_settings as settings_with
from tests.conftest import problem_of
from tests.webhooks.conftest import verify
from tests.webhooks.receiver import Reply


def _runtime(runtime: Runtime, **settings) -> Runtime:
    """The test's runtime (same connection, same clock) with other settings."""
    return Runtime(
        settings=settings_with(**settings),
        database=runtime.database,
        clock=runtime.clock,
        owns_database=False,
    )


async def _delivery(conn, event_id):
    return await conn.fetchrow("SELECT * FROM webhook_deliveries WHERE event_id = $1", event_id)


class TestSchedule:
    async def test_retried_on_the_schedule_and_only_when_due(
        self, runtime, clock, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(500))
        await register(hook.url)
        event_id = await emit()
        settings = runtime.settings
        jitter = settings.webhook_retry_jitter

        assert await relay_once(runtime) == 1
        for attempt, delay in enumerate(settings.webhook_retry_schedule_s, start=1):
            attempted_at = clock.now()
            row = await _delivery(conn, event_id)
            assert row["status"] == "pending" and row["attempts"] == attempt
            wait = (row["next_attempt_at"] - attempted_at).total_seconds()
            assert delay * (1 - jitter) <= wait <= delay * (1 + jitter)

            clock.set(attempted_at + timedelta(seconds=delay * (1 - jitter) * 0.99))
            assert await relay_once(runtime) == 0, f"retry {attempt} came early"
            clock.set(row["next_attempt_at"])
            assert await relay_once(runtime) == 1

        attempts = 1 + len(settings.webhook_retry_schedule_s)
        row = await _delivery(conn, event_id)
        assert row["status"] == "failed" and row["attempts"] == attempts
        assert row["last_status_code"] == 500
        clock.advance(days=3)
        assert await relay_once(runtime) == 0
        assert len(hook.requests) == attempts
        assert {r.webhook_id for r in hook.requests} == {str(event_id)}

    async def test_retry_after_longer_than_the_schedule_is_honoured(
        self, runtime, clock, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(429, {"Retry-After": "3600"}), Reply(200))
        await register(hook.url)
        event_id = await emit()
        start = clock.now()
        assert await relay_once(runtime) == 1
        row = await _delivery(conn, event_id)
        assert row["next_attempt_at"] == start + timedelta(seconds=3600)
        assert row["last_status_code"] == 429

        clock.advance(seconds=600)  # well past the schedule's first retry (about 5 s)
        assert await relay_once(runtime) == 0
        clock.set(start + timedelta(seconds=3600))
        assert await relay_once(runtime) == 1
        assert (await _delivery(conn, event_id))["status"] == "delivered"
        assert [r.webhook_id for r in hook.requests] == [str(event_id)] * 2

    async def test_a_receiver_that_does_not_answer_in_time_is_retried(
        self, runtime, client, admin, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(200, delay=3.0))
        endpoint = await register(hook.url)
        event_id = await emit()
        assert await relay_once(_runtime(runtime, webhook_timeout_s=0.3)) == 1
        row = await _delivery(conn, event_id)
        assert row["status"] == "pending" and row["attempts"] == 1

        attempts = await client.get(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
        )
        [attempt] = attempts.json()["items"]
        assert attempt["event_id"] == str(event_id)
        assert attempt["status_code"] is None
        assert attempt["error"] == "no answer within 0.3 s"
        assert 250 <= attempt["latency_ms"] < 3000


class TestGone:
    async def test_410_disables_the_endpoint_and_fails_its_deliveries(
        self, runtime, client, admin, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(410))
        endpoint = await register(hook.url)
        first, second = await emit(), await emit()
        assert await relay_once(runtime) == 2

        for event_id in (first, second):
            row = await _delivery(conn, event_id)
            assert row["status"] == "failed" and row["last_status_code"] == 410
        current = (
            await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=admin)
        ).json()
        assert current["enabled"] is False
        assert current["disabled_reason"] == "the endpoint answered 410 Gone"
        trail = await client.get(
            "/v1/audit-events",
            params={"entity_type": "webhook_endpoint", "entity_id": endpoint["id"]},
            headers=admin,
        )
        disabled = trail.json()["items"][0]
        assert disabled["action"] == "webhook_endpoint.disabled"
        assert disabled["actor_subject"] == "worker"

        await emit()
        assert await relay_once(runtime) == 0
        assert len(hook.requests) == 2


class TestFailedAndRedelivered:
    async def test_last_retry_fails_then_redelivery_delivers(
        self, runtime, client, admin, clock, receiver, register, emit
    ):
        relay_runtime = _runtime(runtime, webhook_retry_schedule_s=[5])
        hook = receiver.hook(Reply(500), Reply(503), Reply(200))
        endpoint = await register(hook.url)
        event_id = str(await emit())

        assert await relay_once(relay_runtime) == 1
        clock.advance(seconds=10)
        assert await relay_once(relay_runtime) == 1

        failed = await client.get("/v1/webhook-events", params={"status": "failed"}, headers=admin)
        [event] = [e for e in failed.json()["items"] if e["id"] == event_id]
        assert event["status"] == "failed"
        [delivery] = event["deliveries"]
        assert delivery["endpoint_id"] == endpoint["id"]
        assert delivery["attempts"] == 2 and delivery["last_status_code"] == 503
        pending = await client.get(
            "/v1/webhook-events", params={"status": "pending"}, headers=admin
        )
        assert event_id not in [e["id"] for e in pending.json()["items"]]

        redelivered = await client.post(f"/v1/webhook-events/{event_id}/redeliver", headers=admin)
        assert redelivered.status_code == 200
        assert redelivered.json()["status"] == "pending"
        assert redelivered.json()["deliveries"][0]["attempts"] == 0

        assert await relay_once(relay_runtime) == 1
        delivered = await client.get(
            "/v1/webhook-events", params={"status": "delivered"}, headers=admin
        )
        assert event_id in [e["id"] for e in delivered.json()["items"]]
        assert [r.webhook_id for r in hook.requests] == [event_id] * 3
        verify(endpoint["secret"], hook.requests[-1])

        again = await client.post(f"/v1/webhook-events/{event_id}/redeliver", headers=admin)
        assert again.status_code == 409

    async def test_disabling_fails_what_was_waiting_and_redelivery_waits_for_enabling(
        self, runtime, client, admin, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(500), Reply(200))
        endpoint = await register(hook.url)
        event_id = await emit()
        assert await relay_once(runtime) == 1  # 500: due again in about 5 s

        url = f"/v1/webhook-endpoints/{endpoint['id']}"
        await client.post(f"{url}/disable", headers=admin)
        row = await _delivery(conn, event_id)
        assert row["status"] == "failed" and row["last_error"] == "endpoint disabled"
        refused = await client.post(f"/v1/webhook-events/{event_id}/redeliver", headers=admin)
        assert refused.status_code == 409 and "enable" in problem_of(refused)["detail"]

        await client.post(f"{url}/enable", headers=admin)
        redelivered = await client.post(f"/v1/webhook-events/{event_id}/redeliver", headers=admin)
        assert redelivered.status_code == 200
        assert await relay_once(runtime) == 1
        assert (await _delivery(conn, event_id))["status"] == "delivered"
        assert [r.webhook_id for r in hook.requests] == [str(event_id)] * 2
        trail = await client.get(
            "/v1/audit-events",
            params={"entity_type": "webhook_event", "entity_id": str(event_id)},
            headers=admin,
        )
        assert [e["action"] for e in trail.json()["items"]] == ["webhook_event.redelivered"]

    async def test_an_attempt_in_flight_while_disabled_and_enabled_again_is_not_retried(
        self, runtime, client, admin, clock, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(500, delay=1.0), Reply(200))
        endpoint = await register(hook.url)
        event_id = await emit()
        url = f"/v1/webhook-endpoints/{endpoint['id']}"

        async def disable_and_enable_while_it_waits() -> None:
            await hook.wait_for(1)
            assert (await client.post(f"{url}/disable", headers=admin)).status_code == 200
            assert (await client.post(f"{url}/enable", headers=admin)).status_code == 200

        attempted, _ = await asyncio.gather(
            relay_once(runtime), disable_and_enable_while_it_waits()
        )
        assert attempted == 1
        verify(endpoint["secret"], hook.requests[0])
        row = await _delivery(conn, event_id)
        assert row["status"] == "failed" and row["last_status_code"] == 500
        assert row["next_attempt_at"] is None and row["lease_id"] is None

        clock.advance(minutes=10)
        assert await relay_once(runtime) == 0
        assert [r.webhook_id for r in hook.requests] == [str(event_id)]
        failed = await client.get("/v1/webhook-events", params={"status": "failed"}, headers=admin)
        assert [e["id"] for e in failed.json()["items"]] == [str(event_id)]

    async def test_redelivered_while_its_attempt_is_in_flight_it_goes_out_after_that_attempt(
        self, runtime, client, admin, clock, conn, receiver, register, emit
    ):
        hook = receiver.hook(Reply(500, delay=1.0), Reply(200))
        endpoint = await register(hook.url)
        event_id = await emit()
        url = f"/v1/webhook-endpoints/{endpoint['id']}"

        async def disable_enable_and_redeliver_while_it_waits() -> int:
            await hook.wait_for(1)
            await client.post(f"{url}/disable", headers=admin)
            await client.post(f"{url}/enable", headers=admin)
            again = await client.post(f"/v1/webhook-events/{event_id}/redeliver", headers=admin)
            assert await relay_once(runtime) == 0  # not a second request beside the first
            return again.status_code

        attempted, redelivered = await asyncio.gather(
            relay_once(runtime), disable_enable_and_redeliver_while_it_waits()
        )
        assert (attempted, redelivered) == (1, 200)
        row = await _delivery(conn, event_id)
        assert (row["status"], row["attempts"], row["lease_id"]) == ("pending", 1, None)
        attempts = await client.get(f"{url}/deliveries", headers=admin)
        assert [a["status_code"] for a in attempts.json()["items"]] == [500]

        clock.set(row["next_attempt_at"])
        assert await relay_once(runtime) == 1
        assert (await _delivery(conn, event_id))["status"] == "delivered"
        assert [r.webhook_id for r in hook.requests] == [str(event_id)] * 2
        verify(endpoint["secret"], hook.requests[-1])

    async def test_events_list_filters_by_type_and_pages(
        self, runtime, client, admin, receiver, register, emit
    ):
        hook = receiver.hook()
        await register(hook.url, ["loan.disbursed", "loan.paid_off"])
        ids = [str(await emit("loan.disbursed", {"n": i})) for i in range(3)]
        paid = str(await emit("loan.paid_off"))

        listed = await client.get(
            "/v1/webhook-events", params={"type": "loan.disbursed", "limit": 2}, headers=admin
        )
        page = listed.json()
        newest_first = sorted(ids, reverse=True)  # ids are UUIDv7: time-ordered
        assert [e["id"] for e in page["items"]] == newest_first[:2]
        assert all(e["status"] == "pending" and e["deliveries"] == [] for e in page["items"])
        rest = await client.get(
            "/v1/webhook-events",
            params={"type": "loan.disbursed", "limit": 2, "cursor": page["next_cursor"]},
            headers=admin,
        )
        assert [e["id"] for e in rest.json()["items"]] == newest_first[2:]
        assert paid not in [e["id"] for e in rest.json()["items"]]


class TestRefusedAtDelivery:
    async def test_an_address_that_became_private_is_refused_and_recorded(
        self, runtime, client, admin, conn, receiver, register, emit
    ):
        hook = receiver.hook()
        endpoint = await register(hook.url)  # accepted: these settings allow private
        event_id = await emit()
        strict = _runtime(runtime, webhooks_allow_private=False)
        assert await relay_once(strict) == 1

        assert hook.requests == []
        row = await _delivery(conn, event_id)
        assert row["status"] == "pending"
        attempts = await client.get(
            f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=admin
        )
        [attempt] = attempts.json()["items"]
        assert attempt["status_code"] is None
        assert attempt["error"] == "refused: 127.0.0.1 resolves to a loopback address (127.0.0.1)"


class TestRotation:
    async def test_both_signatures_for_24_hours_then_only_the_new_one(
        self, runtime, client, admin, clock, receiver, register, emit
    ):
        hook = receiver.hook()
        endpoint = await register(hook.url)
        old_secret = endpoint["secret"]
        rotated = await client.post(
            f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=admin
        )
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret != old_secret

        await emit()
        await relay_once(runtime)
        [during] = hook.requests
        signatures = during.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2
        for secret, signature in zip((new_secret, old_secret), signatures, strict=True):
            verify(secret, _with_signature(during, signature))
        verify(old_secret, during)  # a receiver not yet switched over still verifies

        clock.advance(hours=24, seconds=1)
        await emit()
        await relay_once(runtime)
        after = hook.requests[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        verify(new_secret, after)
        try:
            verify(old_secret, after)
        except Exception as exc:
            assert type(exc).__name__ == "WebhookVerificationError"
        else:
            raise AssertionError("the old secret still verifies after 24 hours")


def _with_signature(received, signature):
    headers = {**received.headers, "webhook-signature": signature}
    return type(received)(path=received.path, headers=headers, body=received.body, at=received.at)
