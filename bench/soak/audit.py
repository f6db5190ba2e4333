"""After the load: what the database and the receiver's log prove about the run.

Requests are tied to what they wrote by the audit trail's request id (``<op>.<attempt>``): an
operation *committed* when an audit entry carries one of its request ids, whether or not its
caller saw the answer. Acknowledged operations must have committed, and exactly once; the
state each story's application is in must be the one its committed operations lead to; and the
database's own rules (``invariants``) must hold, so no operation was half-applied.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.soak.invariants import FACTS, RULES
from bench.soak.workload import Op, Workload

# Where an acknowledged creation must be found.
CREATED_IN = {
    "enterprise": "enterprises",
    "ip_asset": "ip_assets",
    "valuation": "ip_asset_valuations",
    "application": "applications",
    "quote": "application_quotes",
    "disbursement": "loans",
    "repayment": "loan_repayments",
}
READS = {"read", "claims_list"}


@dataclass
class Check:
    name: str
    rule: str
    passed: bool
    detail: str = ""


async def drain(url: str, *, min_wait: float, limit: float) -> float:
    """Wait until no event is left to fan out or deliver (and at least ``min_wait`` seconds,
    so the SLA sweep has run again); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            conn = await asyncpg.connect(url, timeout=3)
            try:
                left = await conn.fetchval(
                    """SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL)
                            + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"""
                )
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            left = None
        if left == 0 and time.monotonic() - started >= min_wait:
            break
        await asyncio.sleep(1)
    return time.monotonic() - started


def _committed(ops: list[Op], audited: dict[str, set[str]]) -> dict[int, bool]:
    return {op.n: op.step.method == "POST" and bool(audited.get(op.key)) for op in ops}


async def run(url: str, workload: Workload, endpoint_id: str, record_file: Path) -> list[Check]:
    conn = await asyncpg.connect(url)
    try:
        return await _checks(conn, workload, endpoint_id, record_file)
    finally:
        await conn.close()


async def _checks(
    conn: asyncpg.Connection, workload: Workload, endpoint_id: str, record_file: Path
) -> list[Check]:
    checks: list[Check] = []
    ops = workload.ops
    # Which attempts of which op wrote audit entries.
    audited: dict[str, set[str]] = defaultdict(set)
    for row in await conn.fetch(
        "SELECT DISTINCT request_id FROM audit_events WHERE request_id LIKE 'op%'"
    ):
        op_key, _, attempt = row["request_id"].partition(".")
        audited[op_key].add(attempt)
    committed = _committed(ops, audited)
    writes = [op for op in ops if op.step.kind not in READS]

    # 1. every acknowledged creation is in the database
    missing = []
    checked = 0
    for kind, table in CREATED_IN.items():
        wanted = [op.claimed_id for op in writes if op.step.kind == kind and op.claimed_id]
        checked += len(wanted)
        found = {
            str(r["id"])
            for r in await conn.fetch(f"SELECT id FROM {table} WHERE id = ANY($1::uuid[])", wanted)
        }
        missing += [f"{kind} {i}" for i in wanted if i not in found]
    registered = [op.claimed_id for op in writes if op.step.kind == "registration" and op.acked]
    bad = await conn.fetch(
        "SELECT id FROM pledges WHERE id = ANY($1::uuid[]) AND state NOT IN ('registered', "
        "'released')",
        registered,
    )
    missing += [f"registration of pledge {r['id']}" for r in bad]
    checked += len(registered)
    checks.append(
        Check(
            "acked_effects_present",
            "every acknowledged creation (enterprise, IP "
            "asset, valuation, application, quote, loan, repayment, registration) "
            "is in the database",
            not missing,
            "; ".join(missing[:5]) or f"{checked} acknowledged creations found",
        )
    )

    # 2. every acknowledged change committed, and no operation was applied twice
    unaudited = [op for op in writes if op.acked and not committed[op.n]]
    twice = [op for op in writes if len(audited.get(op.key, ())) > 1]
    by_kind = Counter(op.step.kind for op in unaudited)
    checks.append(
        Check(
            "acked_changes_committed",
            "every acknowledged write left its audit entry (request id of one of its attempts)",
            not unaudited,
            ", ".join(f"{k}: {v}" for k, v in by_kind.items())
            or f"{sum(op.acked for op in writes)} acknowledged writes",
        )
    )
    checks.append(
        Check(
            "applied_at_most_once",
            "no operation was applied by two of its "
            "attempts (the Idempotency-Key held across retries and processes)",
            not twice,
            ", ".join(op.key for op in twice[:5])
            or f"{sum(len(op.attempts) > 1 for op in writes)} writes were sent more than once",
        )
    )
    known = {op.key for op in ops}
    phantoms = [k for k in audited if k not in known]
    checks.append(
        Check(
            "no_unexplained_writes",
            "every audit entry written by a request belongs to a request the soak sent",
            not phantoms,
            ", ".join(phantoms[:5]) or f"{len(audited)} operations wrote audit entries",
        )
    )

    # 3. each application is in the state its committed operations lead to
    checks.append(await _stories(conn, workload, committed))

    # 4. the database's own rules: nothing half-applied, no two live pledges, budgets, SLA
    for name, (rule, sql) in RULES.items():
        rows = await conn.fetch(sql)
        detail = "; ".join(str(tuple(r)) for r in rows[:3])
        if not rows and name in FACTS:
            detail = await conn.fetchval(FACTS[name])
        checks.append(Check(name, rule, not rows, detail))
    bound = await conn.fetchval(
        "SELECT count(*) FROM subsidy_claims WHERE limited_by = 'budget'"
    ) + await conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE type = 'subsidy.budget_exhausted'"
    )
    checks.append(
        Check(
            "budget_binds",
            "the small budget was reached during the run (so the budget check was exercised)",
            bound > 0,
            f"{bound} budget-limited facts",
        )
    )

    # 5. webhooks: every event delivered, at least once, signed; none lost, none invented
    checks += await _webhooks(conn, endpoint_id, record_file)

    # 6. what callers saw
    attempts = [a for op in ops for a in op.attempts]
    five_hundreds = [a for a in attempts if a.status == 500]
    checks.append(
        Check(
            "no_500",
            "no request was answered 500",
            not five_hundreds,
            f"{len(five_hundreds)} answers 500",
        )
    )
    hangs = [a for a in attempts if a.outcome == "timeout"]
    checks.append(
        Check(
            "no_hangs",
            "no request hung until the client's timeout (5 s)",
            not hangs,
            f"{len(hangs)} timeouts",
        )
    )
    bare = [a for a in attempts if a.status is not None and a.status >= 400 and not a.problem_json]
    checks.append(
        Check(
            "errors_are_problems",
            "every error answer was application/problem+json",
            not bare,
            f"{len(bare)} plain errors",
        )
    )
    unexpected = [
        op
        for op in ops
        if not op.acked
        and op.refused not in (op.step.expect_refusal, "timeout", "connection")
        and not (op.attempts and (op.attempts[-1].status or 0) >= 500)
    ]
    checks.append(
        Check(
            "no_unexpected_refusals",
            "no request was refused (4xx) except the "
            "conflicting pledges the workload sends on purpose",
            not unexpected,
            "; ".join(f"{op.step.kind} {op.refused}" for op in unexpected[:5]),
        )
    )
    return checks


async def _stories(
    conn: asyncpg.Connection, workload: Workload, committed: dict[int, bool]
) -> Check:
    by_story: dict[int, list[Op]] = defaultdict(list)
    for op in workload.ops:
        if op.story is not None:
            by_story[op.story.n].append(op)
    expected: dict[str, str] = {}
    repaid: dict[str, int] = {}
    for story in workload.stories:
        if story.app_id is None:
            continue
        state = None
        for op in by_story[story.n]:
            if op.step.target and (op.acked or committed[op.n]):
                state = op.step.target
        expected[story.app_id] = state or "draft"
        if story.loan_id:
            repaid[story.loan_id] = sum(
                1
                for op in by_story[story.n]
                if op.step.kind == "repayment" and (op.acked or committed[op.n])
            )
    rows = await conn.fetch(
        "SELECT id::text, state FROM applications WHERE id = ANY($1::uuid[])", list(expected)
    )
    wrong = [
        f"{r['id']}: {r['state']} not {expected[r['id']]}"
        for r in rows
        if r["state"] != expected[r["id"]]
    ]
    counts = await conn.fetch(
        """SELECT l.id::text, count(r.id) AS n FROM loans l
           LEFT JOIN loan_repayments r ON r.loan_id = l.id
           WHERE l.id = ANY($1::uuid[]) GROUP BY l.id""",
        list(repaid),
    )
    wrong += [
        f"loan {r['id']}: {r['n']} repayments not {repaid[r['id']]}"
        for r in counts
        if r["n"] != repaid[r["id"]]
    ]
    return Check(
        "states_explained",
        "each application is in the state its committed requests "
        "lead to, each loan has exactly its committed repayments",
        not wrong,
        "; ".join(wrong[:3]) or f"{len(expected)} applications, {len(repaid)} loans",
    )


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


async def _webhooks(conn: asyncpg.Connection, endpoint_id: str, record_file: Path) -> list[Check]:
    events = {
        str(r["id"]): r["type"]
        for r in await conn.fetch(
            """SELECT e.id, e.type FROM outbox_events e, webhook_endpoints w
               WHERE w.id = $1 AND e.occurred_at >= w.created_at""",
            endpoint_id,
        )
    }
    states = Counter(
        r["status"]
        for r in await conn.fetch(
            "SELECT status FROM webhook_deliveries WHERE endpoint_id = $1", endpoint_id
        )
    )
    undelivered = await conn.fetchval(
        """SELECT count(*) FROM outbox_events e, webhook_endpoints w
           WHERE w.id = $1 AND e.occurred_at >= w.created_at
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id
                             AND d.endpoint_id = w.id AND d.status = 'delivered')""",
        endpoint_id,
    )
    records = await asyncio.to_thread(_records, record_file)
    verified = Counter(r["webhook_id"] for r in records if r["verified"])
    lost = [i for i in events if i not in verified]
    invented = [i for i in verified if i not in events]
    wrong_type = [
        r["webhook_id"]
        for r in records
        if r["verified"] and events.get(r["webhook_id"], r["type"]) != r["type"]
    ]
    forged = sum(1 for r in records if not r["verified"])
    duplicates = sum(n - 1 for n in verified.values() if n > 1)
    return [
        Check(
            "events_delivered",
            "every outbox event ended delivered to the endpoint (none pending or failed)",
            undelivered == 0,
            f"{len(events)} events; deliveries {dict(states)}",
        ),
        Check(
            "events_received",
            "the receiver recorded every event id (webhook-id) with a valid signature: none lost",
            not lost and not wrong_type,
            f"{len(lost)} missing, {len(wrong_type)} with another type; "
            f"{duplicates} duplicate deliveries (at least once)",
        ),
        Check(
            "no_invented_events",
            "the receiver got no event the outbox does not hold, and every delivery verified",
            not invented and forged == 0,
            f"{len(invented)} unknown ids, {forged} unverified deliveries",
        ),
    ]
