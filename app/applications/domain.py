"""An application as the service hands it out: frozen, typed, with its clocks and pledges.

Built from the repository's row (clocks, pledges and quote folded in as JSON, so their dates
and timestamps arrive as text) or from what a write wrote (Python values); the views present
it (``app.applications.views``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.applications.states import ApplicationState
from app.core.schemas import encode_cursor


def _datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _maybe_datetime(value: datetime | str | None) -> datetime | None:
    return None if value is None else _datetime(value)


def _date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


@dataclass(frozen=True, slots=True)
class Clock:
    seq: int
    tier_working_days: int
    received_at: datetime
    deadline_date: date | None
    deadline_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None

    @classmethod
    def of(cls, clock: Mapping[str, Any]) -> Clock:
        return cls(
            seq=clock["seq"],
            tier_working_days=clock["tier_working_days"],
            received_at=_datetime(clock["received_at"]),
            deadline_date=_date(clock["deadline_date"]),
            deadline_at=_maybe_datetime(clock["deadline_at"]),
            stopped_at=_maybe_datetime(clock["stopped_at"]),
            stop_reason=clock["stop_reason"],
        )


@dataclass(frozen=True, slots=True)
class Pledge:
    """One of the application's pledges, as its answer lists them."""

    id: UUID
    ip_asset_id: UUID
    state: str
    registration_no: str | None
    registered_on: date | None
    version: int

    @classmethod
    def of(cls, pledge: Mapping[str, Any]) -> Pledge:
        return cls(
            id=_uuid(pledge["id"]),
            ip_asset_id=_uuid(pledge["ip_asset_id"]),
            state=pledge["state"],
            registration_no=pledge["registration_no"],
            registered_on=_date(pledge["registered_on"]),
            version=pledge["version"],
        )


@dataclass(frozen=True, slots=True)
class Application:
    id: UUID
    reference: str
    state: ApplicationState
    enterprise_id: UUID
    relationship_manager_id: str
    amount: Decimal
    term_months: int
    purpose: str
    ip_asset_ids: tuple[UUID, ...]
    district_code: str
    industry: str
    received_at: datetime | None
    tier_working_days: int | None
    deadline_date: date | None
    deadline_at: datetime | None
    decided_at: datetime | None
    approved_amount: Decimal | None
    rate_bp: int | None
    quote: Mapping[str, Any] | None  # the locked quote, in ``QuoteOut``'s form
    decision_reason: str | None
    return_reason: str | None
    withdraw_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    clocks: tuple[Clock, ...]
    pledges: tuple[Pledge, ...]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Application:
        return cls(
            id=row["id"],
            reference=row["reference"],
            state=ApplicationState(row["state"]),
            enterprise_id=row["enterprise_id"],
            relationship_manager_id=row["relationship_manager_id"],
            amount=row["amount"],
            term_months=row["term_months"],
            purpose=row["purpose"],
            ip_asset_ids=tuple(row["ip_asset_ids"]),
            district_code=row["district_code"],
            industry=row["industry"],
            received_at=row["received_at"],
            tier_working_days=row["tier_working_days"],
            deadline_date=row["deadline_date"],
            deadline_at=row["deadline_at"],
            decided_at=row["decided_at"],
            approved_amount=row["approved_amount"],
            rate_bp=row["rate_bp"],
            quote=row["quote"],
            decision_reason=row["decision_reason"],
            return_reason=row["return_reason"],
            withdraw_reason=row["withdraw_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
            clocks=tuple(Clock.of(clock) for clock in row["clocks"]),
            pledges=tuple(Pledge.of(pledge) for pledge in row["pledges"]),
        )


@dataclass(frozen=True, slots=True)
class ApplicationPage:
    items: tuple[Application, ...]
    next_cursor: str | None

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]], limit: int) -> ApplicationPage:
        """A page from ``limit + 1`` rows newest first (see ``app.core.schemas.paged``)."""
        shown = rows[:limit]
        return cls(
            items=tuple(Application.of(row) for row in shown),
            next_cursor=encode_cursor(shown[-1]["id"]) if len(rows) > limit else None,
        )
