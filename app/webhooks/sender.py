"""Sending one batch of deliveries over HTTP: checked address, signed body, bounded
concurrency, a hard time limit per attempt, and every outcome described, never raised.

Concurrency comes from lanes: each lane is an httpx transport that sends one request at a
time and keeps its connections alive between batches. One pool with many connections would do
the same job, but httpcore walks its whole pool at every step of every request: at 32
connections that cost three quarters of the relay's throughput on this machine. The lanes use
httpx's transport directly because the client around it adds nothing a webhook wants
(redirects are refused, there are no cookies, auth or proxies) and costs a quarter of the CPU
of a request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
from opentelemetry.trace import SpanKind

from app.config import Settings
from app.core import tracing
from app.core.clock import Clock
from app.webhooks import signing, urls
from app.webhooks.queue import Claimed

USER_AGENT = "ipledge-webhooks/1.0"
# Enough of a receiver's answer to keep its connection reusable; more is not our business.
MAX_RESPONSE_BYTES = 64 * 1024
# Connections one lane keeps open, to as many receivers.
LANE_CONNECTIONS = 4


@dataclass(slots=True)
class Answer:
    """What came of one attempt."""

    status_code: int | None = None
    retry_after: str | None = None
    error: str | None = None
    kind: str = "delivered"  # delivered, rejected, timeout, unreachable, refused
    attempted_at: datetime | None = None
    latency_ms: int = 0
    # ``started``: a request was begun (it may have reached the receiver); ``done``: the
    # attempt came to an end, answered or not. Neither: it was never sent.
    started: bool = False
    done: bool = False


def _until(
    stop: asyncio.Event | None, work: Iterator[tuple[int, Claimed]]
) -> Iterator[tuple[int, Claimed]]:
    """The batch's deliveries, until ``stop`` is set."""
    for item in work:
        if stop is not None and stop.is_set():
            return
        yield item


class Sender:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._timeout = httpx.Timeout(settings.webhook_timeout_s).as_dict()
        self._ssl: ssl.SSLContext | None = None
        self._lanes: list[httpx.AsyncHTTPTransport] = []
        self._destinations: dict[str, asyncio.Future[urls.Destination]] = {}

    async def close(self) -> None:
        for lane in self._lanes:
            await lane.aclose()
        self._lanes.clear()

    def _new_lane(self) -> httpx.AsyncHTTPTransport:
        if self._ssl is None:  # loading the CA bundle takes tens of milliseconds: once
            self._ssl = httpx.create_ssl_context()
        return httpx.AsyncHTTPTransport(
            verify=self._ssl,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=LANE_CONNECTIONS, max_keepalive_connections=LANE_CONNECTIONS
            ),
        )

    async def post_all(
        self,
        batch: list[Claimed],
        stop: asyncio.Event | None = None,
        answers: list[Answer] | None = None,
    ) -> list[Answer]:
        """Send ``batch``; answers in the same order, filled in as they come (so a caller
        cancelled meanwhile still sees which ones were answered). Once ``stop`` is set no lane
        starts another request: those in flight finish, the rest stay unsent."""
        if answers is None:
            answers = [Answer() for _ in batch]
        work = _until(stop, enumerate(batch))
        lanes = min(self.settings.webhook_concurrency, len(batch))
        while len(self._lanes) < lanes:
            self._lanes.append(self._new_lane())
        # One address check per URL per batch, shared by that batch's deliveries.
        self._destinations = {}
        await asyncio.gather(*(self._lane(self._lanes[k], work, answers) for k in range(lanes)))
        return answers

    async def _lane(
        self,
        lane: httpx.AsyncHTTPTransport,
        work: Iterator[tuple[int, Claimed]],
        answers: list[Answer],
    ) -> None:
        for index, item in work:
            await self._post(lane, item, answers[index])

    def _destination(self, url: str) -> asyncio.Future[urls.Destination]:
        found = self._destinations.get(url)
        if found is None:
            found = asyncio.ensure_future(
                urls.destination(url, allow_private=self.settings.webhooks_allow_private)
            )
            self._destinations[url] = found
        return found

    @staticmethod
    def _keys(item: Claimed, now: datetime) -> list[bytes]:
        keys = [signing.secret_key(item.secret)]
        if (
            item.previous_secret is not None
            and item.previous_secret_expires_at is not None
            and item.previous_secret_expires_at > now
        ):
            keys.append(signing.secret_key(item.previous_secret))
        return keys

    async def _post(self, lane: httpx.AsyncHTTPTransport, item: Claimed, answer: Answer) -> None:
        # The relay's clock (which the tests move) decides whether a rotated-out secret still
        # signs and when a retry is due.
        now = answer.attempted_at = self.clock.now()
        answer.started = True
        started = time.perf_counter()
        with tracing.tracer().start_as_current_span(
            "webhook.deliver",
            kind=SpanKind.CLIENT,
            attributes={
                "ipledge.event_id": str(item.event_id),
                "ipledge.endpoint_id": str(item.endpoint_id),
                "ipledge.webhook.attempt": item.attempts + 1,
            },
        ) as span:
            try:
                await self._attempt(lane, item, answer, now)
                answer.done = True
            finally:  # also when the worker's stop cut the attempt short
                answer.latency_ms = round((time.perf_counter() - started) * 1000)
                span.set_attribute("ipledge.webhook.outcome", answer.kind)
                if answer.status_code is not None:
                    span.set_attribute("http.response.status_code", answer.status_code)

    async def _attempt(
        self, lane: httpx.AsyncHTTPTransport, item: Claimed, answer: Answer, now: datetime
    ) -> None:
        timeout = self.settings.webhook_timeout_s
        try:
            target = await asyncio.shield(self._destination(item.url))
            body = signing.message_body(item.type, item.occurred_at, item.data)
            msg_id = str(item.event_id)
            # The receiver checks this against its own clock (replay protection), so it is the
            # wall-clock time of sending, whatever clock schedules the retries.
            timestamp = int(time.time())
            headers = {
                **target.headers,
                "user-agent": USER_AGENT,
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signing.signature_header(
                    self._keys(item, now), msg_id, timestamp, body
                ),
            }
            request = httpx.Request(
                "POST",
                target.url,
                content=body,
                headers=headers,
                extensions={"timeout": self._timeout, **target.extensions},
            )
            async with asyncio.timeout(timeout):
                await self._send(lane, request, answer)
        except urls.UnsafeUrl as exc:
            answer.error, answer.kind = f"refused: {exc}", "refused"
        except (TimeoutError, httpx.TimeoutException):
            answer.error, answer.kind = f"no answer within {timeout:g} s", "timeout"
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            answer.error, answer.kind = f"{type(exc).__name__}: {detail}"[:500], "unreachable"

    @staticmethod
    async def _send(lane: httpx.AsyncHTTPTransport, request: httpx.Request, answer: Answer) -> None:
        # Redirects are not followed: a redirect could lead anywhere, the bank's own network
        # included. It is an answer, not a place to go.
        response = await lane.handle_async_request(request)
        try:
            answer.status_code = response.status_code
            answer.retry_after = response.headers.get("retry-after")
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        if not 200 <= answer.status_code < 300:
            answer.kind = "rejected"
            if 300 <= answer.status_code < 400:
                answer.error = "redirects are not followed"
