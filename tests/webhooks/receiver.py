"""A real webhook receiver on 127.0.0.1: uvicorn in a thread of its own, one path per test,
answering as the test says (200, 500, 410, 429 with Retry-After, or a long silence) and
keeping every request it got."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import uvicorn


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before answering


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    client_port: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Hook:
    """One endpoint's URL on the receiver."""

    receiver: Receiver
    path: str
    url: str

    def reply(self, *replies: Reply) -> None:
        """Answer with these in turn; the last one repeats."""
        self.receiver.set_replies(self.path, list(replies))

    @property
    def requests(self) -> list[Received]:
        return self.receiver.received(self.path)

    async def wait_for(self, count: int, within: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} of {count} requests arrived")
            await asyncio.sleep(0.02)
        return self.requests


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: dict[str, list[Reply]] = {}
        self._received: dict[str, list[Received]] = {}
        self.base = ""

    def hook(self, *replies: Reply) -> Hook:
        path = f"/hooks/{uuid4().hex}"
        hook = Hook(self, path, self.base + path)
        hook.reply(*(replies or (Reply(),)))
        return hook

    def set_replies(self, path: str, replies: list[Reply]) -> None:
        with self._lock:
            self._replies[path] = replies

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._received.get(path, []))

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            replies = self._replies.get(path) or [Reply(404)]
            return replies.pop(0) if len(replies) > 1 else replies[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self._lock:
            self._received.setdefault(path, []).append(
                Received(
                    path=path,
                    headers=headers,
                    body=body,
                    at=time.monotonic(),
                    client_port=(scope.get("client") or ("", 0))[1],
                )
            )
        reply = self._next_reply(path)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    receiver.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        receiver,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
