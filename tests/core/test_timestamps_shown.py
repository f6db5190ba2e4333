"""Every timestamp the service shows carries the Asia/Shanghai offset: in answers, and in the
event payloads and audit entries a bureau or an examiner reads, whether a statement built them
in the database or the service built them in Python; and they are the instants stored, not
only their offset."""

from __future__ import annotations

import json
import re
from datetime import datetime

from tests.factories import at
from tests.lifecycle import disbursed

TIMESTAMP = re.compile(r'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})"')


def _offsets(texts: list[str]) -> list[str]:
    return [m.group(2) for text in texts for m in TIMESTAMP.finditer(text)]


async def test_events_and_audit_entries_show_timestamps_at_plus_eight(desk, conn, clock):
    first_entry = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")
    loan = await disbursed(desk, conn, clock, method="equal_principal")
    clock.set(at("2026-04-10T10:00:00+08:00"))
    paid = await desk.client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"paid_on": "2026-04-10", "amount": "500.00"},
        headers=desk.officer,
    )
    assert paid.status_code == 201, paid.text

    events = await conn.fetch(
        """SELECT type, data::text AS data FROM outbox_events
           WHERE data->>'application_id' = $1 OR data->>'loan_id' = $2""",
        loan["application_id"],
        loan["id"],
    )
    # Built by a statement (a submission's receipt and deadline) and in Python (a decision's
    # time) alike.
    by_type = {e["type"]: e["data"] for e in events}
    assert _offsets([by_type["application.submitted"]])
    assert _offsets([by_type["application.approved"]])
    entries = await conn.fetch(
        "SELECT before::text AS before, after::text AS after FROM audit_events WHERE id > $1",
        first_entry,
    )
    texts = [e["data"] for e in events] + [
        text for e in entries for text in (e["before"], e["after"]) if text
    ]
    shown = _offsets(texts)
    assert len(shown) >= 5
    assert set(shown) == {"+08:00"}
    # The answers agree.
    assert _offsets([paid.text]) and set(_offsets([paid.text])) == {"+08:00"}


def _obj(data):
    return json.loads(data) if isinstance(data, str) else data


async def test_the_shown_timestamps_are_the_stored_instants(desk, conn, clock):
    loan = await disbursed(desk, conn, clock, method="equal_principal")
    app = await conn.fetchrow(
        "SELECT received_at, deadline_at, decided_at FROM applications WHERE id = $1::uuid",
        loan["application_id"],
    )
    events = {
        e["type"]: e["data"]
        for e in await conn.fetch(
            "SELECT type, data FROM outbox_events WHERE data->>'application_id' = $1",
            loan["application_id"],
        )
    }
    submitted = _obj(events["application.submitted"])
    assert submitted["received_at"].endswith("+08:00")
    assert datetime.fromisoformat(submitted["received_at"]) == app["received_at"]
    assert datetime.fromisoformat(submitted["deadline_at"]) == app["deadline_at"]
    approved = _obj(events["application.approved"])
    shown = [v for v in approved.values() if isinstance(v, str) and v.endswith("+08:00")]
    assert shown, approved
    assert app["decided_at"] in {datetime.fromisoformat(v) for v in shown}
