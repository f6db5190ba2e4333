"""What one demo run knows as it goes: its options, the keys, and what each step made."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import ipledge_client as ic
from ipledge_client import models

from app.demo.client import Api
from app.demo.console import Out
from app.demo.dates import Calendar, LoanDates
from app.demo.receiver import Receiver

DISTRICT = "440305"
RELATIONSHIP_MANAGER = "rm-nanshan-0427"


class Skip(Exception):
    """The step cannot be shown against this service; the message says why and what to
    change."""


class Failed(Exception):
    """The service did something the demo did not expect of it."""


class Fatal(Exception):
    """The demo cannot go on at all (no service, or no key the service knows)."""


@dataclass(frozen=True)
class Options:
    url: str
    admin_key: str | None = None
    relay: bool = False
    webhook_wait_s: float = 15.0
    color: bool = True


@dataclass
class Run:
    api: Api
    out: Out
    options: Options
    today: date
    rng: random.Random = field(default_factory=random.Random)
    keys: dict[str, str] = field(default_factory=dict)
    calendar: Calendar = field(default_factory=lambda: Calendar([]))
    loan_dates: LoanDates | None = None
    holiday_received_on: date | None = None
    receiver: Receiver | None = None
    endpoint_id: UUID | None = None
    no_webhook_reason: str = ""
    enterprise: models.EnterpriseOut | None = None
    asset_ids: dict[str, list[UUID]] = field(default_factory=dict)
    applications: dict[str, models.ApplicationOut] = field(default_factory=dict)
    loan_backdated: bool = False
    caveats: list[str] = field(default_factory=list)
    loan: models.LoanOut | None = None
    claim: models.ClaimOut | None = None
    locked_pool_id: UUID | None = None

    def caveat(self, text: str) -> None:
        """Something the step had to leave out: it is shown, and the step counts as partial."""
        self.out.note(text)
        self.caveats.append(text)

    def key(self, role: str) -> str:
        return self.keys[role]

    def as_(self, role: str) -> ic.Client:
        """The typed client of the demo's caller in ``role``."""
        return self.api.as_(self.keys[role])

    @property
    def admin(self) -> str:
        return self.keys["admin"]

    @property
    def officer(self) -> str:
        return self.keys["credit_officer"]


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[Run], None]
    docs: tuple[tuple[str, str], ...] = ()
