"""Factories for the webhook tests: a live receiver, endpoints registered through the API, and
events written to the outbox the way the domains write them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
import structlog
from standardwebhooks import Webhook

from app.core import outbox
from app.core.context import OPERATOR
from app.core.runtime import Runtime
from tests.webhooks.receiver import Received, Receiver, running_receiver


@pytest.fixture(autouse=True)
def _log_to_this_runs_stdout() -> None:
    """An earlier test may leave structlog writing to a capture file that is closed by now;
    the relay logs (an endpoint gone, a failed pass), so give it a live stream."""
    structlog.reset_defaults()


@pytest.fixture
async def quiet_outbox(conn) -> None:
    """A rolled-back test sees the events other tests committed; mark those fanned out (in
    this test's transaction only), so that its relay sends just what the test wrote."""
    await conn.execute("UPDATE outbox_events SET dispatched_at = now() WHERE dispatched_at IS NULL")


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as live:
        yield live


def verify(secret: str, received: Received) -> Any:
    """What a receiver does with the reference library: raises unless the signature holds."""
    return Webhook(secret).verify(received.body, received.headers)


Register = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def admin(make_key) -> dict[str, str]:
    return await make_key("admin")


@pytest.fixture
def register(client, admin, quiet_outbox) -> Register:
    """``await register(hook.url, ["loan.disbursed"])`` → the created endpoint (with secret)."""

    async def create(
        url: str, event_types: list[str] | None = None, district_code: str | None = None
    ) -> dict[str, Any]:
        response = await client.post(
            "/v1/webhook-endpoints",
            json={
                "url": url,
                "event_types": event_types or ["loan.disbursed"],
                "district_code": district_code,
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


Emit = Callable[..., Awaitable[UUID]]


@pytest.fixture
def emit(runtime: Runtime) -> Emit:
    """Write one event as a domain's request would: emit, then the unit of work's flush."""

    async def write(
        event_type: str = "loan.disbursed",
        data: dict[str, Any] | None = None,
        district_code: str | None = None,
    ) -> UUID:
        async with runtime.unit_of_work(OPERATOR, label="test") as ctx:
            event_id = outbox.emit(
                ctx, event_type, data or {"loan_id": "L-1"}, district_code=district_code
            )
        return event_id

    return write


@pytest.fixture
async def live_endpoints(live_runtime: Runtime) -> AsyncIterator[list[UUID]]:
    """Endpoints a committed test registers; disabled afterwards, so no later test's relay
    sends anything to a receiver that is gone."""
    created: list[UUID] = []
    yield created
    from app.webhooks import service

    for endpoint_id in created:
        async with live_runtime.unit_of_work(OPERATOR, label="test-cleanup") as ctx:
            await service.disable_endpoint(ctx, endpoint_id=endpoint_id, reason="test over")


async def emit_live(runtime: Runtime, count: int, event_type: str = "loan.disbursed") -> set[str]:
    """Commit ``count`` events in one transaction; their ids."""
    ids: set[str] = set()
    async with runtime.unit_of_work(OPERATOR, label="test") as ctx:
        for i in range(count):
            ids.add(str(outbox.emit(ctx, event_type, {"seq": i})))
    return ids
