"""How an application is shown: its row as the wire form of ``ApplicationOut``.

Every move of an application answers with the whole application, its clocks and its pledges,
and validating an ``ApplicationOut`` of nested models, then serialising it field by field, cost
about a tenth of a submission's server CPU. As for loans (``app.loans.views``), the view builds
the JSON document directly from the row, in exactly the form ``ApplicationOut`` gives, with
the SLA states of ``app.applications.sla``; ``tests/applications/test_views.py`` holds the two
to each other. ``ApplicationOut`` stays the documented schema.

The row is the repository's read (clocks, pledges and quote folded in as JSON, so their dates
and timestamps are text) or the dict a write builds from what it wrote (Python values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from app.applications import sla
from app.core.schemas import encode_cursor, to_shanghai
from app.core.views import money
from app.pricing.schemas import QuoteOut


def _datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _maybe_datetime(value: datetime | str | None) -> datetime | None:
    return None if value is None else _datetime(value)


def _date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else to_shanghai(value)


def _clocks(clocks: Sequence[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
    current_seq = clocks[-1]["seq"] if clocks else None
    out = []
    for clock in clocks:
        deadline_date = _date(clock["deadline_date"])
        deadline_at = _maybe_datetime(clock["deadline_at"])
        stopped_at = _maybe_datetime(clock["stopped_at"])
        stop_reason = clock["stop_reason"]
        out.append(
            {
                "seq": clock["seq"],
                "tier_working_days": clock["tier_working_days"],
                "received_at": to_shanghai(_datetime(clock["received_at"])),
                "deadline_date": deadline_date,
                "deadline_at": _timestamp(deadline_at),
                "stopped_at": _timestamp(stopped_at),
                "stop_reason": stop_reason,
                "state": sla.clock_state(
                    deadline_date=deadline_date,
                    deadline_at=deadline_at,
                    stopped_at=stopped_at,
                    stop_reason=stop_reason,
                    is_current=clock["seq"] == current_seq,
                    now=now,
                ),
            }
        )
    return out


def _sla(row: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    state = sla.application_sla_state(
        state=row["state"],
        deadline_date=row["deadline_date"],
        deadline_at=row["deadline_at"],
        decided_at=row["decided_at"],
        now=now,
    )
    received_at = row["received_at"]
    if state is None or received_at is None:  # never submitted: no clock
        return None
    return {
        "tier_working_days": row["tier_working_days"],
        "received_at": to_shanghai(received_at),
        "deadline_date": row["deadline_date"],
        "deadline_at": _timestamp(row["deadline_at"]),
        "state": state,
    }


def _quote(quote: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Only approved applications carry one: not worth a hand-written twin of ``QuoteOut``.
    if quote is None:
        return None
    return QuoteOut.model_validate(quote).model_dump(mode="json")


def application(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The application with every SLA state true at ``now``."""
    approved_amount = row["approved_amount"]
    return {
        "id": row["id"],
        "reference": row["reference"],
        "state": row["state"],
        "enterprise_id": row["enterprise_id"],
        "relationship_manager_id": row["relationship_manager_id"],
        "amount": money(row["amount"]),
        "term_months": row["term_months"],
        "purpose": row["purpose"],
        "ip_asset_ids": list(row["ip_asset_ids"]),
        "district_code": row["district_code"],
        "industry": row["industry"],
        "sla": _sla(row, now),
        "clocks": _clocks(row["clocks"], now),
        "pledges": [
            {
                "id": pledge["id"],
                "ip_asset_id": pledge["ip_asset_id"],
                "state": pledge["state"],
                "registration_no": pledge["registration_no"],
                "registered_on": _date(pledge["registered_on"]),
                "version": pledge["version"],
            }
            for pledge in row["pledges"]
        ],
        "decided_at": _timestamp(row["decided_at"]),
        "approved_amount": None if approved_amount is None else money(approved_amount),
        "rate_bp": row["rate_bp"],
        "quote": _quote(row["quote"]),
        "decision_reason": row["decision_reason"],
        "return_reason": row["return_reason"],
        "withdraw_reason": row["withdraw_reason"],
        "created_at": to_shanghai(row["created_at"]),
        "updated_at": to_shanghai(row["updated_at"]),
        "version": row["version"],
    }


def page(rows: Sequence[Mapping[str, Any]], limit: int, now: datetime) -> dict[str, Any]:
    """A page of applications from ``limit + 1`` rows newest first (see
    ``app.core.schemas.paged``)."""
    shown = rows[:limit]
    return {
        "items": [application(row, now) for row in shown],
        "next_cursor": encode_cursor(shown[-1]["id"]) if len(rows) > limit else None,
    }
