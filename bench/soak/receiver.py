"""The district bureau's webhook receiver for the soak: verifies each delivery with the
``standardwebhooks`` library and appends it to a JSON-lines file before answering.

The record is written and flushed before the 204 goes out, so a delivery the relay counts as
delivered is always on file; a crash between the two only makes the relay send it again (a
duplicate, which the audit counts, never a loss). The signing secret is read from a file the
soak writes after registering the endpoint, so a restarted receiver picks it up again.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

_SECRET_FILE = Path(os.environ.get("SOAK_SECRET_FILE", "var/soak/secret"))
_RECORD_FILE = Path(os.environ.get("SOAK_RECORD_FILE", "var/soak/deliveries.jsonl"))
# A bureau's server is not instant: answering after 50-250 ms keeps each relay batch in flight
# long enough that killing a worker is likely to catch one (its leases must then run out).
_DELAY_MS = float(os.environ.get("SOAK_RECEIVER_DELAY_MS", 150))
_state: dict[str, Any] = {"hook": None, "out": None}


def _hook() -> Webhook | None:
    if _state["hook"] is None and _SECRET_FILE.exists():
        _state["hook"] = Webhook(_SECRET_FILE.read_text().strip())
    return _state["hook"]


def _record(entry: dict[str, Any]) -> None:
    if _state["out"] is None:
        _state["out"] = open(_RECORD_FILE, "a", encoding="utf-8")  # noqa: SIM115 - process-long
    _state["out"].write(json.dumps(entry) + "\n")
    _state["out"].flush()
    os.fsync(_state["out"].fileno())


async def _respond(send: Any, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "GET":  # the soak's readiness probe
        await _respond(send, 200)
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    hook = _hook()
    verified, error, payload = False, None, {}
    if hook is None:
        error = "no secret yet"
    else:
        try:
            payload = hook.verify(body, headers)
            verified = True
        except WebhookVerificationError as exc:
            error = str(exc)
    if _DELAY_MS:
        await asyncio.sleep(random.uniform(_DELAY_MS / 3, _DELAY_MS * 5 / 3) / 1000)
    _record(
        {
            "webhook_id": headers.get("webhook-id"),
            "type": payload.get("type") if isinstance(payload, dict) else None,
            "verified": verified,
            "error": error,
            "received_at": time.time(),
        }
    )
    # A delivery that does not verify is refused, so the relay would retry it and, in the end,
    # mark it failed: the audit then sees it, rather than a silently accepted forgery.
    await _respond(send, 204 if verified else 400)
