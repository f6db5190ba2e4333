"""The application view is the wire form of ``ApplicationOut``: it validates as one, serialises
back to itself, and is what the pydantic path the service used before gave, for applications in
every state, with every kind of clock, so the documented schema and what the API sends cannot
drift apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.applications import repository, sla, views
from app.applications.domain import Application
from app.applications.schemas import ApplicationOut, ApplicationState, ClockOut, SlaOut
from app.core.db import Db
from app.core.views import JsonView
from tests import factories, lifecycle
from tests.factories import at


def _pydantic_out(row: Any, now: datetime) -> dict:
    """The service's answer before the view: ``ApplicationOut`` built through its models."""
    data = dict(row)
    clocks = data["clocks"]
    current_seq = clocks[-1]["seq"] if clocks else None
    clock_out = []
    for clock in clocks:
        parsed = ClockOut.model_validate({**clock, "state": sla.SlaState.RUNNING})
        parsed.state = sla.clock_state(
            deadline_date=parsed.deadline_date,
            deadline_at=parsed.deadline_at,
            stopped_at=parsed.stopped_at,
            stop_reason=parsed.stop_reason,
            is_current=clock["seq"] == current_seq,
            now=now,
        )
        clock_out.append(parsed)
    state = sla.application_sla_state(
        state=data["state"],
        deadline_date=data["deadline_date"],
        deadline_at=data["deadline_at"],
        decided_at=data["decided_at"],
        now=now,
    )
    data["sla"] = (
        None
        if state is None or data["received_at"] is None
        else SlaOut(
            tier_working_days=data["tier_working_days"],
            received_at=data["received_at"],
            deadline_date=data["deadline_date"],
            deadline_at=data["deadline_at"],
            state=state,
        )
    )
    data["clocks"] = clock_out
    return ApplicationOut.model_validate(data).model_dump(mode="json")


def _wire(view: dict) -> dict:
    return orjson.loads(JsonView(view).body)


def _holds(row: Any, now: datetime) -> dict:
    """The view of ``row`` at ``now`` on the wire, checked against ``ApplicationOut``."""
    wire = _wire(views.application(Application.of(row), now))
    assert wire == _pydantic_out(row, now)
    assert ApplicationOut.model_validate(wire).model_dump(mode="json") == wire
    assert list(wire) == list(ApplicationOut.model_fields)
    return wire


async def _read(conn, app: dict) -> Any:
    row = await repository.get(Db(conn), UUID(app["id"]))
    assert row is not None
    return row


async def _holds_when_read(desk, conn, clock, answer: dict) -> dict:
    """The application as stored holds at the clock's now, and both the move's ``answer`` and
    a read through the API are its view."""
    wire = _holds(await _read(conn, answer), clock.now())
    assert answer == wire
    assert await desk.get(answer, headers=desk.officer) == wire
    return wire


class TestAnApplicationsViewIsItsApplicationOut:
    async def test_a_draft(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        response = await desk.client.post(
            "/v1/applications",
            json=factories.application_body(desk.enterprise_id, desk.assets[:2], amount="1234.5"),
            headers=desk.rm,
        )
        assert response.status_code == 201, response.text
        draft = response.json()
        assert response.headers["location"] == f"/v1/applications/{draft['id']}"
        assert response.headers["etag"] == '"1"'
        wire = await _holds_when_read(desk, conn, clock, draft)
        assert (wire["sla"], wire["clocks"], wire["pledges"]) == (None, [], [])
        assert wire["amount"] == "1234.50"

    async def test_a_first_submission_with_two_pledges(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00.250000+08:00"))
        submitted = await desk.submit(await desk.create(assets=desk.assets[:2]))
        wire = await _holds_when_read(desk, conn, clock, submitted)
        assert len(wire["pledges"]) == 2
        assert wire["sla"]["received_at"] == "2026-03-09T10:00:00.250000+08:00"
        assert [c["state"] for c in wire["clocks"]] == ["running"]

    async def test_returns_and_resubmissions(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        clock.set(at("2026-03-10T15:00:00.5+08:00"))
        await _holds_when_read(desk, conn, clock, await desk.act(app, "return", reason="board"))
        clock.set(at("2026-03-20T10:00:00+08:00"))
        again = await desk.submit(app, received_at="2026-03-19T16:00:00+08:00")
        await _holds_when_read(desk, conn, clock, again)
        await desk.act(app, "review")
        clock.set(at("2026-03-20T11:00:00+08:00"))
        returned = await desk.act(app, "return", reason="valuation report unsigned")
        wire = await _holds_when_read(desk, conn, clock, returned)
        assert [(c["stop_reason"], c["state"]) for c in wire["clocks"]] == [
            ("returned", "returned"),
            ("returned", "paused"),
        ]
        clock.set(at("2026-03-23T09:00:00+08:00"))
        await desk.submit(app)
        await desk.act(app, "review")
        clock.set(at("2026-03-30T09:00:00+08:00"))
        declined = await desk.act(app, "decision", outcome="declined", reason="thin collateral")
        wire = await _holds_when_read(desk, conn, clock, declined)
        assert [c["state"] for c in wire["clocks"]] == ["returned", "returned", "missed"]
        assert wire["sla"]["state"] == "missed"
        assert (wire["decision_reason"], wire["return_reason"]) == (
            "thin collateral",
            "valuation report unsigned",
        )

    async def test_an_approval_with_its_quote(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        await factories.lpr(conn, date(2026, 2, 20), one_year_bp=300)
        asset = await factories.ip_asset(
            conn, desk.enterprise_id, value=Decimal("20000000.00"), valued_on=date(2026, 1, 5)
        )
        app = await desk.submit(await desk.create(assets=[asset]))
        await desk.act(app, "review")
        pledge_id = app["pledges"][0]["id"]
        registered = await desk.client.post(
            f"/v1/pledges/{pledge_id}/registration",
            json={"registration_no": "Y2026440000123", "registered_on": "2026-03-09"},
            headers=desk.officer,
        )
        assert registered.status_code == 200, registered.text
        clock.set(at("2026-03-11T17:30:00+08:00"))
        approved = await desk.act(
            app, "decision", outcome="approved", approved_amount="4500000.5", reason="covered"
        )
        wire = await _holds_when_read(desk, conn, clock, approved)
        assert wire["approved_amount"] == "4500000.50"
        assert wire["rate_bp"] == wire["quote"]["rate_bp"]
        assert wire["quote"]["amount"] == "4500000.50"
        assert wire["pledges"][0]["registered_on"] == "2026-03-09"
        assert (wire["sla"]["state"], wire["clocks"][0]["state"]) == ("met", "met")
        # And once disbursed: the quote stays, the clock is still judged.
        clock.set(at("2026-04-01T09:00:00+08:00"))
        assert _holds(await _read(conn, app), clock.now())["quote"] == wire["quote"]

    async def test_a_disbursed_application(self, desk, conn, clock):
        loan = await lifecycle.disbursed(desk, conn, clock, assets=2)
        app = await desk.get(loan["application_id"], headers=desk.officer)
        wire = await _holds_when_read(desk, conn, clock, app)
        assert wire["state"] == "disbursed"

    async def test_withdrawals(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        draft = await desk.create()
        gone = await desk.act(draft, "withdraw", reason="client walked", headers=desk.rm)
        assert (await _holds_when_read(desk, conn, clock, gone))["sla"] is None
        running = await desk.submit(await desk.create())
        gone = await desk.act(running, "withdraw", reason="client walked", headers=desk.rm)
        wire = await _holds_when_read(desk, conn, clock, gone)
        assert wire["clocks"][0]["stop_reason"] == "withdrawn"
        assert wire["sla"]["state"] == wire["clocks"][0]["state"] == "withdrawn"
        assert wire["pledges"][0]["state"] == "cancelled"

    async def test_a_deadline_in_an_unpublished_year(self, desk, conn, clock):
        clock.set(at("2026-12-29T10:00:00+08:00"))
        app = await desk.submit(await desk.create())
        wire = await _holds_when_read(desk, conn, clock, app)
        assert wire["sla"]["state"] == wire["clocks"][0]["state"] == "pending_calendar"
        assert wire["sla"]["deadline_date"] is wire["sla"]["deadline_at"] is None

    async def test_a_clock_at_risk_then_breached(self, desk, conn, clock):
        clock.set(at("2026-02-13T16:00:00+08:00"))
        app = await desk.submit(await desk.create())
        row = await _read(conn, app)
        for now, state in [
            ("2026-02-24T23:59:59.999999+08:00", "running"),
            ("2026-02-25T00:00:00+08:00", "at_risk"),
            ("2026-02-26T00:00:00+08:00", "breached"),
        ]:
            wire = _holds(row, at(now))
            assert wire["sla"]["state"] == wire["clocks"][0]["state"] == state
        clock.set(at("2026-02-25T12:00:00+08:00"))
        assert (await desk.get(app))["sla"]["state"] == "at_risk"

    async def test_a_page(self, desk, conn, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        made = [await desk.submit(await desk.create()), await desk.create()]
        response = await desk.client.get(
            "/v1/applications",
            params={"relationship_manager_id": desk.rm_id, "limit": 1},
            headers=desk.officer,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["items"] == [_holds(await _read(conn, made[1]), clock.now())]
        assert page["next_cursor"]


class TestTheAnswer:
    async def test_an_idempotent_create_replays_the_view_and_its_headers(self, desk, clock):
        clock.set(at("2026-03-09T10:00:00+08:00"))
        headers = {**desk.rm, "Idempotency-Key": "create-view-1"}
        body = factories.application_body(desk.enterprise_id, desk.assets[:1])
        first = await desk.client.post("/v1/applications", json=body, headers=headers)
        second = await desk.client.post("/v1/applications", json=body, headers=headers)
        assert first.status_code == second.status_code == 201, first.text
        assert second.headers["idempotent-replayed"] == "true"
        assert second.content == first.content
        for name in ("content-type", "location", "etag"):
            assert second.headers[name] == first.headers[name]
        assert first.headers["content-type"] == "application/json"


def _pg(moment: datetime) -> str:
    """A timestamp as PostgreSQL writes it into JSON (UTC here, trailing zeros dropped)."""
    text = moment.astimezone(UTC).isoformat()
    if "." in text:
        head, tail = text.split(".")
        fraction, offset = tail[:6].rstrip("0"), tail[6:]
        text = f"{head}.{fraction}{offset}" if fraction else f"{head}{offset}"
    return text


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
money = st.integers(min_value=1, max_value=10**18 - 1).map(lambda fen: Decimal(fen) / 100)


@st.composite
def clocks(draw: Any) -> list[dict]:
    out = []
    for seq in range(1, draw(st.integers(min_value=0, max_value=3)) + 1):
        received = draw(moments)
        deadline_date = draw(st.none() | st.just(received.date() + timedelta(days=4)))
        stopped = draw(st.none() | st.just(received + timedelta(days=draw(st.integers(0, 9)))))
        out.append(
            {
                "seq": seq,
                "tier_working_days": draw(st.sampled_from([3, 5, 10])),
                "received_at": _pg(received),
                "deadline_date": deadline_date and deadline_date.isoformat(),
                "deadline_at": deadline_date and _pg(sla.deadline_instant(deadline_date)),
                "stopped_at": stopped and _pg(stopped),
                "stop_reason": stopped
                and draw(st.sampled_from(["returned", "decided", "withdrawn"])),
            }
        )
    return out


@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from([state.value for state in ApplicationState]),
    amount=money,
    approved=st.none() | money,
    history=clocks(),
    received=st.none() | moments,
    deadline_date=st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    decided=st.none() | moments,
    created=moments,
    now=moments,
    pledges=st.lists(
        st.tuples(
            st.sampled_from(["proposed", "registered", "released", "enforced", "cancelled"]),
            st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
        ),
        max_size=3,
    ),
)
def test_any_row_shows_as_its_application_out(
    state, amount, approved, history, received, deadline_date, decided, created, now, pledges
):
    # A row as the repository reads it: clocks and pledges folded in as JSON text.
    row = {
        "id": uuid4(),
        "reference": "ZCR-2026-000123",
        "state": state,
        "enterprise_id": uuid4(),
        "relationship_manager_id": "RM-07",
        "amount": amount,
        "term_months": 12,
        "purpose": "working capital — 生产线",
        "district_code": "440305",
        "industry": "biomedicine",
        "created_at": created,
        "updated_at": created + timedelta(hours=3),
        "version": 3,
        "received_at": received,
        "tier_working_days": 3 if received else None,
        "deadline_date": deadline_date,
        "deadline_at": deadline_date and sla.deadline_instant(deadline_date).astimezone(UTC),
        "decided_at": decided,
        "outcome": None,
        "approved_amount": approved,
        "rate_bp": 385 if approved else None,
        "quote_id": None,
        "decision_reason": "covered" if decided else None,
        "return_reason": None,
        "withdraw_reason": "client walked" if state == "withdrawn" else None,
        "ip_asset_ids": sorted(uuid4() for _ in pledges),
        "clocks": history,
        "pledges": [
            {
                "id": str(uuid4()),
                "ip_asset_id": str(uuid4()),
                "state": pledge_state,
                "registration_no": registered_on and "Y2026440000123",
                "registered_on": registered_on and registered_on.isoformat(),
                "version": 2,
            }
            for pledge_state, registered_on in pledges
        ],
        "quote": None,
    }
    _holds(row, now)
