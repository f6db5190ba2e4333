"""The timestamps events show at +08:00 are the instants stored, for a payload a statement built
(a submission) and one the service built in Python (an approval)."""

import json
from datetime import datetime

from tests.lifecycle import disbursed


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
