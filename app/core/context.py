"""What a request (or a worker job) carries through the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from app.config import Settings
from app.core.clock import business_date
from app.core.db import Db
from app.core.journal import AuditEntry, Event
from app.core.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: UUID | None
    role: Role
    subject: str | None = None
    # A token's ``sub`` (the person the bank's identity provider signed in); None for a key.
    signed_in_as: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def owns_rm(self, relationship_manager_id: str) -> bool:
        """May this caller see a record that belongs to this relationship manager?"""
        return self.role is not Role.RELATIONSHIP_MANAGER or self.subject == relationship_manager_id

    def owns_district(self, district_code: str) -> bool:
        return self.role is not Role.DISTRICT_BUREAU or self.subject == district_code


# The operator at the command line (``ipledge keys create``, ``calendar load``…).
OPERATOR = Principal(key_id=None, role=Role.ADMIN, subject="cli")
# The worker's periodic jobs.
SYSTEM = Principal(key_id=None, role=Role.ADMIN, subject="worker")


@dataclass(slots=True)
class Claim:
    """A request's Idempotency-Key, and the hash of what it was sent with."""

    key: str
    request_hash: bytes


@dataclass(slots=True)
class Ctx:
    db: Db
    principal: Principal
    now: datetime
    settings: Settings
    request_id: str
    if_match: str | None = None
    # The request's Idempotency-Key, for an operation that stores its answer in its own
    # statement (``@access(..., claims_in_statement=True)``); None otherwise, as the unit of
    # work then stores it.
    claim: Claim | None = None
    # Queued by ``app.core.audit.record`` and ``app.core.outbox.emit``; written by the unit of
    # work just before it commits (``app.core.outbox.flush``).
    audit_entries: list[AuditEntry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def today(self) -> date:
        return business_date(self.now)
