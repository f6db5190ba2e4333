"""The two things the demo does in the database rather than over HTTP: the first admin key
(as ``ipledge keys create --role admin`` does: no key exists yet to ask the API with), and,
with ``--relay``, webhook relay passes run in this process instead of by ``ipledge worker``.

The database is the service's: ``IPLEDGE_DATABASE_URL`` (or ``--database-url``), else the
embedded PostgreSQL under ``var/`` that ``make run`` starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.config import get_settings
from app.core.context import OPERATOR
from app.core.roles import Role
from app.core.runtime import Runtime


def create_admin_key(name: str) -> tuple[str, str]:
    """A new admin key (the key, its id), committed with its audit entry."""
    from app.keys import service as keys_service

    async def create() -> tuple[str, str]:
        runtime = Runtime.create(pool_size=1)
        try:
            async with runtime.unit_of_work(OPERATOR, label="demo") as ctx:
                created = await keys_service.create_key(
                    ctx, role=Role.ADMIN, subject=None, name=name
                )
            assert created.key is not None  # null only in a replay for an Idempotency-Key
            return created.key, str(created.id)
        finally:
            await runtime.close()

    return asyncio.run(create())


def relay_until(done: Callable[[], bool], *, timeout: float, allow_private: bool) -> int:
    """Relay passes (fan-out and one delivery batch each, exactly as the worker's loop makes
    them) until ``done()`` or ``timeout`` seconds; returns the deliveries attempted.

    ``allow_private`` is the policy of the service itself: it accepted a loopback endpoint, so
    its deployment allows private addresses, and a relay for it delivers to them too.
    """
    from app.webhooks.relay import Relay

    async def relay() -> int:
        settings = get_settings().model_copy(update={"webhooks_allow_private": allow_private})
        runtime = Runtime.create(settings, pool_size=2)
        attempted = 0
        deadline = time.monotonic() + timeout
        try:
            async with Relay(runtime) as relay:
                while not done() and time.monotonic() < deadline:
                    _, made = await relay.once()
                    attempted += made
                    if not done():
                        await asyncio.sleep(0.5)
        finally:
            await runtime.close()
        return attempted

    return asyncio.run(relay())
