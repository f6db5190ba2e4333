"""A district bureau's webhook receiver, in miniature: an HTTP server on 127.0.0.1 in a thread
that verifies every delivery with the ``standardwebhooks`` library (SPEC 3.8) and keeps it.

It answers 204 to a delivery whose signature verifies and 401 to one that does not, which the
service's relay records as an attempt to retry.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/bureau/ipledge-webhooks"


@dataclass
class Delivery:
    webhook_id: str
    type: str
    data: dict[str, Any]
    verified: bool
    error: str | None
    signatures: int
    received_at: float = field(default_factory=time.monotonic)


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}{PATH}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, match: Callable[[Delivery], bool], timeout: float) -> Delivery | None:
        """The first delivery ``match`` accepts, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.find(match)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                self._changed.wait(left)

    def find(self, match: Callable[[Delivery], bool]) -> Delivery | None:
        return next((d for d in list(self.deliveries) if match(d)), None)

    def _verify(self, body: bytes, headers: dict[str, str]) -> Delivery:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        webhook_id = headers.get("webhook-id", "")
        signatures = len(headers.get("webhook-signature", "").split())
        try:
            payload = Webhook(self.secret or "").verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            return Delivery(
                webhook_id=webhook_id,
                type=payload.get("type", "?"),
                data=payload.get("data") or {},
                verified=False,
                error=str(exc),
                signatures=signatures,
            )
        return Delivery(webhook_id, payload["type"], payload["data"], True, None, signatures)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if self.path != PATH:
                    self.send_response(404)
                    self.end_headers()
                    return
                delivery = receiver._verify(body, {k.lower(): v for k, v in self.headers.items()})
                with receiver._changed:
                    receiver.deliveries.append(delivery)
                    receiver._changed.notify_all()
                self.send_response(204 if delivery.verified else 401)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo reports deliveries itself

        return Handler
