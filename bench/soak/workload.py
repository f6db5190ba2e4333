"""The load driver: an open-loop sender at a fixed rate across both API processes.

Every tick sends the next request whatever happened to the earlier ones, so a fault that slows
or breaks answers never slows the sender down. Every request carries an Idempotency-Key and an
X-Request-ID of ``<op>.<attempt>`` (the audit trail records it, which is how the audit ties a
row to the request that wrote it). A request that failed for a reason a client should retry
(timeout, broken connection, 5xx, 409 in progress) is sent again with the same key, through the
other API process, as a load balancer would; "recovered" counts those that then succeeded.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from bench.soak.stories import Step, Story, new_story

TIMEOUT_S = 5.0
RETRY_SLUGS = {"idempotency-request-in-progress", "service-unavailable"}
MAX_ACTIVE_STORIES = 80


@dataclass
class Attempt:
    api: int
    sent: float  # seconds since the load started
    done: float
    outcome: str  # ok, status, timeout, connection
    status: int | None = None
    problem_json: bool = False
    slug: str | None = None


@dataclass
class Op:
    n: int
    step: Step
    story: Story | None
    attempts: list[Attempt] = field(default_factory=list)
    acked: bool = False
    answer: Any = None
    refused: str | None = None  # the slug of a final 4xx

    @property
    def key(self) -> str:
        return f"op{self.n:06d}"

    @property
    def claimed_id(self) -> str | None:
        if self.acked and isinstance(self.answer, dict) and self.step.method == "POST":
            return self.answer.get("id")
        return None


def _retryable(attempt: Attempt) -> bool:
    if attempt.outcome in ("timeout", "connection"):
        return True
    return attempt.status is not None and (
        attempt.status >= 500 or attempt.status == 429 or attempt.slug in RETRY_SLUGS
    )


class Workload:
    def __init__(self, apis: list[str], keys: dict[str, str], rate: float, today: date) -> None:
        self.apis = apis
        self.keys = keys
        self.rate = rate
        self.today = today
        self.ops: list[Op] = []
        self.stories: list[Story] = []
        self.tasks: set[asyncio.Task] = set()
        self.started = 0.0
        self.retry_until = float("inf")
        self.claims_pending: list[str] = []
        self.claims_approved: list[str] = []
        self.claims_taken: set[str] = set()  # never decide one claim twice
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(TIMEOUT_S),
            limits=httpx.Limits(max_connections=400, max_keepalive_connections=100),
        )

    def now(self) -> float:
        return time.monotonic() - self.started

    # --- choosing the next request ----------------------------------------------------

    def _read(self) -> Step | None:
        apps = [s for s in self.stories if s.app_id]
        loans = [s for s in self.stories if s.loan_id]
        choice = random.random()
        if loans and choice < 0.3:
            story = random.choice(loans)
            return Step("read", "GET", f"/v1/loans/{story.loan_id}", "bank_system", None)
        if apps and choice < 0.8:
            story = random.choice(apps)
            return Step("read", "GET", f"/v1/applications/{story.app_id}", "bank_system", None)
        return Step("read", "GET", "/v1/applications?limit=20", "bank_system", None)

    def _bureau(self) -> Step | None:
        """The Longgang bureau: lists its pending claims, decides them, pays approved ones.
        Rejections give budget back, so later interest payments claim it again."""
        if self.claims_approved and random.random() < 0.5:
            claim = self.claims_approved.pop()
            body = {"paid_on": self.today.isoformat()}
            return Step(
                "claim_payment",
                "POST",
                f"/v1/subsidy-claims/{claim}/payment",
                "district_bureau",
                body,
            )
        if self.claims_pending:
            claim = self.claims_pending.pop()
            self.claims_taken.add(claim)
            outcome = random.choice(("approved", "rejected"))
            body = {"outcome": outcome, "reason": f"soak: {outcome}"}
            return Step(
                "claim_decision",
                "POST",
                f"/v1/subsidy-claims/{claim}/decision",
                "district_bureau",
                body,
                target=outcome,
            )
        return Step(
            "claims_list",
            "GET",
            "/v1/subsidy-claims?state=pending&limit=20",
            "district_bureau",
            None,
        )

    def _advance(self) -> tuple[Step, Story] | None:
        idle = [(s, step) for s in self.stories if not s.busy and (step := s.next_step())]
        active = sum(1 for s in self.stories if not s.ended and (s.busy or s.next_step()))
        if (len(idle) < 4 or random.random() < 0.1) and active < MAX_ACTIVE_STORIES:
            story = new_story(len(self.stories), self.today, self.stories)
            self.stories.append(story)
            step = story.next_step()
            assert step is not None
            idle.append((story, step))
        if not idle:
            return None
        # Later steps first, so stories reach loans and repayments rather than piling up drafts.
        weights = [1 + 2 * (s.state in ("approved", "disbursed")) for s, _ in idle]
        story, step = random.choices(idle, weights=weights)[0]
        return step, story

    def next_op(self) -> Op:
        choice = random.random()
        story: Story | None = None
        step: Step | None = None
        if choice < 0.2:
            step = self._read()
        elif choice < 0.25:
            step = self._bureau()
        else:
            picked = self._advance()
            if picked is not None:
                step, story = picked
        if step is None:
            step = Step("read", "GET", "/v1/applications?limit=20", "bank_system", None)
        if story is not None:
            story.busy = True
        op = Op(n=len(self.ops), step=step, story=story)
        self.ops.append(op)
        return op

    # --- sending ----------------------------------------------------------------------

    async def _attempt(self, op: Op, number: int, body: bytes | None) -> Attempt:
        api = (op.n + number) % len(self.apis)
        headers = {
            "Authorization": f"Bearer {self.keys[op.step.role]}",
            "Idempotency-Key": f"soak-{op.key}",
            "X-Request-ID": f"{op.key}.{number}",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        sent = self.now()
        try:
            response = await self.client.request(
                op.step.method, self.apis[api] + op.step.path, content=body, headers=headers
            )
        except httpx.TimeoutException:
            return Attempt(api, sent, self.now(), "timeout")
        except httpx.TransportError:
            return Attempt(api, sent, self.now(), "connection")
        attempt = Attempt(api, sent, self.now(), "ok", status=response.status_code)
        kind = response.headers.get("content-type", "")
        attempt.problem_json = kind.startswith("application/problem+json")
        if response.status_code >= 300:
            attempt.outcome = "status"
            if attempt.problem_json:
                attempt.slug = str(response.json().get("type", "")).rsplit("/", 1)[-1]
        else:
            op.answer = response.json() if response.content else None
        return attempt

    async def execute(self, op: Op) -> None:
        body = None if op.step.body is None else json.dumps(op.step.body).encode()
        number = 0
        while True:
            attempt = await self._attempt(op, number, body)
            op.attempts.append(attempt)
            if attempt.outcome == "ok":
                op.acked = True
                break
            if not _retryable(attempt) or self.now() > self.retry_until or number >= 15:
                op.refused = attempt.slug or attempt.outcome
                break
            number += 1
            await asyncio.sleep(min(0.5 * 2**number, 4.0) * random.uniform(0.8, 1.2))
        self._settle(op)

    def _settle(self, op: Op) -> None:
        story, step = op.story, op.step
        if op.acked and step.kind == "claims_list":
            listed = [c["id"] for c in op.answer["items"]]
            self.claims_pending = [c for c in listed if c not in self.claims_taken]
        elif op.acked and step.kind == "claim_decision" and step.target == "approved":
            self.claims_approved.append(op.step.path.split("/")[3])
        if story is None:
            return
        story.busy = False
        if op.acked:
            story.acknowledged(step, op.answer)
        elif step.expect_refusal is not None and op.refused == step.expect_refusal:
            story.refused(step, op.refused)
        else:
            story.ended = f"{step.kind}: {op.refused}"

    async def run(self, duration: float) -> None:
        """Send at ``rate`` for ``duration`` seconds, then let what is in flight finish."""
        loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        start = loop.time()
        tick = 0
        while True:
            due = start + tick / self.rate
            if due - start >= duration:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            task = asyncio.create_task(self.execute(self.next_op()))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            tick += 1

    async def finish(self, grace: float) -> None:
        """Stop retrying ``grace`` seconds from now and wait for every request to end."""
        self.retry_until = self.now() + grace
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace + TIMEOUT_S * 3)
        await self.client.aclose()
