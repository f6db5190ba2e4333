"""What the workload does: each *story* walks one enterprise's application through the API, one
request at a time, the way a bank would (as the demo does): enterprise → IP asset → valuation →
application → submit → review → quote → decision → pledge registration → disbursement →
repayments. Some stories are declined, withdrawn, returned for information and resubmitted, or
try to pledge an asset another application already holds (which must be refused).

A story only knows what its acknowledged requests told it. The next step is sent once the
previous one was acknowledged; a step that never is ends the story (its real state is left to
the audit to explain)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.identifiers import credit_code_check_char, patent_check_digit

DISTRICT = "440307"  # Longgang: the district whose subsidy programme the soak creates
RM = "RM-SOAK"
INDUSTRIES = ("artificial_intelligence", "low_altitude_economy", "electronic_information", "other")
AMOUNTS = ("1000000.00", "2000000.00", "3000000.00", "5000000.00", "12000000.00")
KINDS = (("loan", 60), ("decline", 12), ("withdraw", 8), ("return", 10), ("open", 10))
LIVE = {"submitted", "under_review", "awaiting_information", "approved", "disbursed"}
REPAYMENTS_PER_LOAN = 3
_serial = itertools.count(1)


@dataclass
class Step:
    kind: str  # what the request does (the figures are grouped by it)
    method: str
    path: str
    role: str
    body: dict[str, Any] | None
    target: str | None = None  # the application state an acknowledgement means
    expect_refusal: str | None = None  # a problem slug that is the right answer


@dataclass
class Story:
    n: int
    kind: str
    today: date
    enterprise_id: str | None = None
    asset_ids: list[str] = field(default_factory=list)
    assets_wanted: int = 1
    valued: bool = False
    app_id: str | None = None
    state: str | None = None  # the application state its last acknowledged request gave
    pledges: list[str] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    quote_id: str | None = None
    returned: bool = False
    loan_id: str | None = None
    repayments: int = 0
    busy: bool = False
    ended: str | None = None  # why the story stopped early
    conflict_with: Story | None = None

    # --- dates: receipts 40 days back put the approval clock past its deadline (the sweep
    # reports it) and let a loan be booked 35 days back, so an instalment is due by today.

    @property
    def backdated(self) -> bool:
        return self.kind in ("loan", "decline", "withdraw")

    def _received_at(self) -> str | None:
        if self.kind == "open":
            received = self.today - timedelta(days=2)  # deadline today or ahead: at risk, maybe
            return f"{received.isoformat()}T10:00:00+08:00"
        if self.backdated and not self.returned:
            received = self.today - timedelta(days=40)
            return f"{received.isoformat()}T10:00:00+08:00"
        return None  # received now: a resubmission runs a new clock from today

    def _value_date(self, days_back: int) -> str:
        return (self.today - timedelta(days=days_back if self.backdated else 0)).isoformat()

    # --- the next request --------------------------------------------------------------

    def next_step(self) -> Step | None:
        if self.ended:
            return None
        if self.enterprise_id is None:
            return Step("enterprise", "POST", "/v1/enterprises", "bank_system", _enterprise())
        if len(self.asset_ids) < self.assets_wanted:
            body = _asset(self.enterprise_id, self.today)
            return Step("ip_asset", "POST", "/v1/ip-assets", "bank_system", body)
        if not self.valued:
            body = {
                "value": "20000000.00",
                "appraiser": "Soak Appraisal Co.",
                "method": "income approach",
                "valuation_date": (self.today - timedelta(days=50)).isoformat(),
            }
            path = f"/v1/ip-assets/{self.asset_ids[0]}/valuations"
            return Step("valuation", "POST", path, "bank_system", body)
        if self.app_id is None:
            body = {
                "enterprise_id": self.enterprise_id,
                "amount": random.choice(AMOUNTS),
                "term_months": random.choice((12, 24)),
                "purpose": "soak: R&D and equipment",
                "ip_asset_ids": self.asset_ids,
                "relationship_manager_id": RM,
            }
            return Step("application", "POST", "/v1/applications", "bank_system", body, "draft")
        base = f"/v1/applications/{self.app_id}"
        if self.state == "draft":
            if self.kind == "conflict_withdraw":
                body = {"reason": "soak: asset already pledged"}
                return Step(
                    "withdraw", "POST", f"{base}/withdraw", "bank_system", body, "withdrawn"
                )
            received = self._received_at()
            body = {} if received is None else {"received_at": received}
            refusal = "ip-asset-already-pledged" if self.kind == "conflict" else None
            return Step(
                "submit",
                "POST",
                f"{base}/submit",
                "bank_system",
                body,
                "submitted",
                expect_refusal=refusal,
            )
        if self.state == "submitted":
            if self.kind in ("withdraw", "conflict"):
                body = {"reason": "soak: the enterprise withdrew"}
                return Step(
                    "withdraw", "POST", f"{base}/withdraw", "bank_system", body, "withdrawn"
                )
            if self.kind == "open":
                return None  # left open: its clock is the sweep's business
            return Step("review", "POST", f"{base}/review", "credit_officer", None, "under_review")
        if self.state == "under_review":
            if self.kind == "return" and not self.returned:
                body = {"reason": "soak: the valuation report is missing a page"}
                return Step(
                    "return",
                    "POST",
                    f"{base}/return",
                    "credit_officer",
                    body,
                    "awaiting_information",
                )
            if self.kind == "decline":
                body = {"outcome": "declined", "reason": "soak: coverage too thin"}
                return Step(
                    "decision", "POST", f"{base}/decision", "credit_officer", body, "declined"
                )
            if self.quote_id is None:
                return Step("quote", "POST", f"{base}/quotes", "credit_officer", {})
            body = {"outcome": "approved", "quote_id": self.quote_id}
            return Step("decision", "POST", f"{base}/decision", "credit_officer", body, "approved")
        if self.state == "awaiting_information":
            return Step("submit", "POST", f"{base}/submit", "bank_system", {}, "submitted")
        if self.state == "approved":
            pending = [p for p in self.pledges if p not in self.registered]
            if pending:
                body = {
                    "registration_no": f"Y2026{DISTRICT[:4]}{next(_serial):08d}",
                    "registered_on": self._value_date(38),
                }
                path = f"/v1/pledges/{pending[0]}/registration"
                return Step("registration", "POST", path, "credit_officer", body)
            body = {"disbursed_on": self._value_date(35), "repayment_method": "equal_installment"}
            return Step(
                "disbursement", "POST", f"{base}/disbursement", "credit_officer", body, "disbursed"
            )
        if self.state == "disbursed" and self.repayments < REPAYMENTS_PER_LOAN:
            body = {"paid_on": self.today.isoformat(), "amount": "20000.00"}
            path = f"/v1/loans/{self.loan_id}/repayments"
            return Step("repayment", "POST", path, "credit_officer", body)
        return None

    # --- what an acknowledgement tells the story ------------------------------------

    def acknowledged(self, step: Step, answer: Any) -> None:
        if step.kind == "enterprise":
            self.enterprise_id = answer["id"]
        elif step.kind == "ip_asset":
            self.asset_ids.append(answer["id"])
        elif step.kind == "valuation":
            self.valued = True
        elif step.kind == "quote":
            self.quote_id = answer["id"]
        elif step.kind == "registration":
            self.registered.add(answer["id"])
        elif step.kind == "disbursement":
            self.loan_id = answer["id"]
        elif step.kind == "repayment":
            self.repayments += 1
        elif step.kind == "return":
            self.returned = True
            self.quote_id = None
        if step.kind == "application":
            self.app_id = answer["id"]
        if step.target is not None:
            self.state = step.target
        if isinstance(answer, dict) and "pledges" in answer and step.kind != "disbursement":
            self.pledges = [p["id"] for p in answer["pledges"]]

    def refused(self, step: Step, slug: str | None) -> None:
        """A refusal that was the right answer: the conflicting draft is withdrawn."""
        if step.kind == "submit" and slug == "ip-asset-already-pledged":
            self.kind = "conflict_withdraw"


def new_story(n: int, today: date, stories: list[Story]) -> Story:
    """A fresh story, or now and then one that tries to pledge an asset another live
    application holds."""
    holders = [s for s in stories if s.state in LIVE and s.asset_ids and not s.busy]
    if holders and random.random() < 0.06:
        other = random.choice(holders)
        return Story(
            n=n,
            kind="conflict",
            today=today,
            enterprise_id=other.enterprise_id,
            asset_ids=[other.asset_ids[0]],
            valued=True,
            conflict_with=other,
        )
    kind = random.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    return Story(n=n, kind=kind, today=today, assets_wanted=1 if random.random() < 0.8 else 2)


# --- identities, valid under SPEC 3.1 and unique within a run ----------------------------

_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUW"


def _enterprise() -> dict[str, Any]:
    serial = next(_serial)
    body = "".join(
        _CODE_CHARS[(serial // len(_CODE_CHARS) ** i) % len(_CODE_CHARS)] for i in range(6)
    )
    first17 = f"91440307MA{random.choice('0123456789')}{body}"
    return {
        "name": f"深圳市龙岗压测科技有限公司{serial:05d}",
        "credit_code": first17 + credit_code_check_char(first17),
        "district_code": DISTRICT,
        "industry": random.choice(INDUSTRIES),
        "high_tech": True,
        "cross_border": False,
    }


def _asset(holder_id: str, today: date) -> dict[str, Any]:
    digits = f"20211{next(_serial) + 1_000_000:07d}"
    return {
        "kind": "invention_patent",
        "number": f"{digits}.{patent_check_digit(digits)}",
        "title": "一种压测用的数据处理方法",
        "holder_enterprise_id": holder_id,
        "protection_expires_on": date(today.year + 15, 6, 30).isoformat(),
    }
