"""How an application is shown: the wire form of ``ApplicationOut``, built from the domain
object (``app.applications.domain``).

Every move of an application answers with the whole application, its clocks and its pledges,
and validating an ``ApplicationOut`` of nested models, then serialising it field by field, cost
about a tenth of a submission's server CPU. As for loans (``app.loans.views``), the view builds
the JSON document directly, in exactly the form ``ApplicationOut`` gives, with the SLA states
of ``app.applications.sla`` true at the moment asked; ``tests/applications/test_views.py``
holds the two to each other. ``ApplicationOut`` stays the documented schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.applications import sla
from app.applications.domain import Application, ApplicationPage, Clock
from app.core.schemas import to_shanghai
from app.core.views import money
from app.pricing.schemas import QuoteOut


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else to_shanghai(value)


def _clock(clock: Clock, current_seq: int | None, now: datetime) -> dict[str, Any]:
    return {
        "seq": clock.seq,
        "tier_working_days": clock.tier_working_days,
        "received_at": to_shanghai(clock.received_at),
        "deadline_date": clock.deadline_date,
        "deadline_at": _timestamp(clock.deadline_at),
        "stopped_at": _timestamp(clock.stopped_at),
        "stop_reason": clock.stop_reason,
        "state": sla.clock_state(
            deadline_date=clock.deadline_date,
            deadline_at=clock.deadline_at,
            stopped_at=clock.stopped_at,
            stop_reason=clock.stop_reason,
            is_current=clock.seq == current_seq,
            now=now,
        ),
    }


def _sla(app: Application, now: datetime) -> dict[str, Any] | None:
    state = sla.application_sla_state(
        state=app.state,
        deadline_date=app.deadline_date,
        deadline_at=app.deadline_at,
        decided_at=app.decided_at,
        now=now,
    )
    if state is None or app.received_at is None:  # never submitted: no clock
        return None
    return {
        "tier_working_days": app.tier_working_days,
        "received_at": to_shanghai(app.received_at),
        "deadline_date": app.deadline_date,
        "deadline_at": _timestamp(app.deadline_at),
        "state": state,
    }


def _quote(quote: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Only approved applications carry one: not worth a hand-written twin of ``QuoteOut``.
    if quote is None:
        return None
    return QuoteOut.model_validate(quote).model_dump(mode="json")


def application(app: Application, now: datetime) -> dict[str, Any]:
    """The application with every SLA state true at ``now``."""
    current_seq = app.clocks[-1].seq if app.clocks else None
    return {
        "id": app.id,
        "reference": app.reference,
        "state": app.state,
        "enterprise_id": app.enterprise_id,
        "relationship_manager_id": app.relationship_manager_id,
        "amount": money(app.amount),
        "term_months": app.term_months,
        "purpose": app.purpose,
        "ip_asset_ids": list(app.ip_asset_ids),
        "district_code": app.district_code,
        "industry": app.industry,
        "sla": _sla(app, now),
        "clocks": [_clock(clock, current_seq, now) for clock in app.clocks],
        "pledges": [
            {
                "id": pledge.id,
                "ip_asset_id": pledge.ip_asset_id,
                "state": pledge.state,
                "registration_no": pledge.registration_no,
                "registered_on": pledge.registered_on,
                "version": pledge.version,
            }
            for pledge in app.pledges
        ],
        "decided_at": _timestamp(app.decided_at),
        "approved_amount": None if app.approved_amount is None else money(app.approved_amount),
        "rate_bp": app.rate_bp,
        "quote": _quote(app.quote),
        "decision_reason": app.decision_reason,
        "return_reason": app.return_reason,
        "withdraw_reason": app.withdraw_reason,
        "created_at": to_shanghai(app.created_at),
        "updated_at": to_shanghai(app.updated_at),
        "version": app.version,
    }


def page(applications: ApplicationPage, now: datetime) -> dict[str, Any]:
    return {
        "items": [application(app, now) for app in applications.items],
        "next_cursor": applications.next_cursor,
    }
