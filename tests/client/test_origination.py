"""The whole origination flow through ``ipledge-client``, against ``ipledge serve`` over HTTP on
127.0.0.1, as a bank's integrator would drive it: keys, an LPR fixing, an enterprise, a patent
and its valuation, an application submitted, reviewed, quoted and approved, its pledge
registered, the loan disbursed and repaid; then reads page by page, and refusals as typed
exceptions."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import ipledge_client as ic
import pytest
from ipledge_client import models
from ipledge_client.problem_types import InvalidStateTransition

from app.demo.identities import credit_code, patent_number
from tests.client.served import admin_key, fresh_database, served

RM = "RM700001"


@pytest.fixture(scope="module")
def service(database_url: str) -> Iterator[tuple[str, str]]:
    url = fresh_database(database_url, "client")
    with served(url) as base:
        yield base, admin_key(url)


def _client(base: str, token: str) -> ic.Client:
    return ic.Client(base, token=token, retry=ic.RetryPolicy(attempts=2, backoff_s=0.05))


@pytest.fixture(scope="module")
def desks(service) -> Iterator[dict[str, ic.Client]]:
    base, key = service
    admin = _client(base, key)
    clients = {"admin": admin}
    roles = (("bank_system", None), ("credit_officer", None), ("relationship_manager", RM))
    for role, subject in roles:
        created = admin.create_api_key(
            models.ApiKeyCreate(role=role, subject=subject, name=f"client test {role}")
        )
        clients[role] = _client(base, created.key)
    yield clients
    for client in clients.values():
        client.close()


def _enterprise(bank: ic.Client, rng: random.Random) -> models.EnterpriseOut:
    return bank.create_enterprise(
        models.EnterpriseCreate(
            name=f"Shenzhen Client Test {rng.randrange(10**6)} Ltd",
            credit_code=credit_code(rng),
            district_code="440307",
            industry="artificial_intelligence",
            high_tech=True,
            cross_border=False,
        )
    )


def _patent(bank: ic.Client, rng: random.Random, holder: uuid.UUID) -> models.IpAssetOut:
    return bank.create_ip_asset(
        {
            "kind": "invention_patent",
            "number": patent_number(rng, "invention_patent", 2019),
            "title": "A method of pledging patents",
            "holder_enterprise_id": str(holder),
            "protection_expires_on": "2039-06-30",
        }
    )


@pytest.mark.committed
def test_origination_from_intake_to_repayment(desks):
    # The service's today, read when the flow starts (not when the module loads: a run may
    # cross midnight in Shanghai between the two).
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    rng = random.Random()
    admin, bank, officer = desks["admin"], desks["bank_system"], desks["credit_officer"]

    fixing = admin.put_lpr_fixing(today, models.LprFixingIn(one_year_bp=300, five_year_bp=350))
    assert fixing.one_year_bp == 300

    enterprise = _enterprise(bank, rng)
    asset = _patent(bank, rng, enterprise.id)
    valuation = bank.add_ip_asset_valuation(
        asset.id,
        models.ValuationCreate(
            value=Decimal("25000000.00"),
            appraiser="Pengcheng Appraisal",
            method="income",
            valuation_date=today,
        ),
    )
    assert valuation.value == Decimal("25000000.00")

    draft = bank.create_application(
        models.ApplicationCreate(
            enterprise_id=enterprise.id,
            amount=Decimal("8000000.00"),
            term_months=12,
            purpose="Working capital for the AI vision line",
            ip_asset_ids=[asset.id],
            relationship_manager_id=RM,
        )
    )
    assert draft.state == "draft" and draft.amount == Decimal("8000000.00")

    submitted = bank.submit_application(draft.id)
    assert submitted.state == "submitted"
    assert submitted.sla is not None and submitted.sla.tier_working_days == 3

    assert officer.review_application(draft.id).state == "under_review"
    quote = officer.create_quote(draft.id)
    assert quote.lpr_bp == 300
    # Coverage 25,000,000 ≥ 2 × 8,000,000 (10), an invention patent (5), a priority industry
    # (5): 20 bp, the cap; rate = 300 + 100 − 20.
    assert quote.discount_bp == 20
    assert quote.rate_bp == 380

    approved = officer.decide_application(
        draft.id,
        {"outcome": "approved", "approved_amount": "8000000.00", "quote_id": str(quote.id)},
    )
    assert approved.state == "approved" and approved.rate_bp == 380

    (pledge,) = approved.pledges
    registered = officer.register_pledge(
        pledge.id, {"registration_no": f"Y{rng.randrange(10**9):09d}", "registered_on": today}
    )
    assert registered.state == "registered"

    loan = officer.disburse_loan(
        draft.id, {"disbursed_on": today, "repayment_method": "equal_installment"}
    )
    assert loan.principal == Decimal("8000000.00") and loan.state == "active"
    assert len(loan.schedule) == 12

    repaid = officer.post_repayment(loan.id, {"paid_on": today, "amount": "100000.00"})
    assert repaid.amount == Decimal("100000.00") and repaid.allocation
    assert repaid.interest_paid + repaid.principal_paid == Decimal("100000.00")
    assert repaid.loan.outstanding_principal == Decimal("8000000.00") - repaid.principal_paid

    # Reads, page by page (one item a page).
    more = [
        bank.create_application(
            {
                "enterprise_id": str(enterprise.id),
                "amount": "1000000.00",
                "term_months": 6,
                "purpose": f"Draft {n}",
                "ip_asset_ids": [str(asset.id)],
                "relationship_manager_id": RM,
            }
        )
        for n in range(2)
    ]
    seen = [a.id for a in bank.iter_applications(limit=1) if a.enterprise_id == enterprise.id]
    assert seen == [more[1].id, more[0].id, draft.id]  # newest first, across three pages
    manager = desks["relationship_manager"]
    assert {a.id for a in manager.iter_applications(limit=1)} >= {draft.id, *(m.id for m in more)}
    assert [p.id for p in officer.iter_pledges(application_id=str(draft.id))] == [pledge.id]
    assert loan.id in {item.id for item in officer.iter_loans(limit=1)}


@pytest.mark.committed
def test_refusals_are_typed_problems(desks, service):
    rng = random.Random()
    bank, officer = desks["bank_system"], desks["credit_officer"]
    manager = desks["relationship_manager"]
    enterprise = _enterprise(bank, rng)

    with pytest.raises(ic.NotFound) as missing:
        bank.get_application(uuid.uuid4())
    assert missing.value.status == 404 and missing.value.type.endswith("/problems/not-found")

    with pytest.raises(ic.UnprocessableContent) as invalid:
        bank.create_enterprise(
            {
                **enterprise.model_dump(
                    mode="json",
                    include={"name", "district_code", "industry", "high_tech", "cross_border"},
                ),
                "credit_code": "91440300MA5XXXXXX0",
            }
        )
    assert invalid.value.about("body", "credit_code"), invalid.value.errors
    assert invalid.value.title and invalid.value.detail

    asset = _patent(bank, rng, enterprise.id)
    body = {
        "enterprise_id": str(enterprise.id),
        "amount": "500000.00",
        "term_months": 6,
        "purpose": "Typed problems",
        "ip_asset_ids": [str(asset.id)],
        "relationship_manager_id": RM,
    }
    draft = bank.create_application(body, idempotency_key="typed-problems-1")
    again = bank.create_application(body, idempotency_key="typed-problems-1")
    assert again.id == draft.id  # replayed, not made twice
    with pytest.raises(ic.IdempotencyKeyReused) as reused:
        bank.create_application({**body, "term_months": 7}, idempotency_key="typed-problems-1")
    assert isinstance(reused.value, ic.UnprocessableContent) and reused.value.status == 422

    with pytest.raises(InvalidStateTransition) as state:
        officer.review_application(draft.id)  # a draft is not under anyone's review yet
    assert isinstance(state.value, ic.Conflict)
    assert state.value.problem_slug == "invalid-state-transition"

    with pytest.raises(ic.Forbidden):
        manager.review_application(draft.id)

    base, _ = service
    with ic.Client(base, token="ipk_not-a-key") as stranger, pytest.raises(ic.Unauthenticated):
        stranger.list_applications()


@pytest.mark.committed
def test_if_match_names_the_version_a_change_is_for(desks):
    rng = random.Random()
    bank = desks["bank_system"]
    enterprise = _enterprise(bank, rng)
    draft = bank.create_application(
        {
            "enterprise_id": str(enterprise.id),
            "amount": "500000.00",
            "term_months": 6,
            "purpose": "If-Match",
            "ip_asset_ids": [str(_patent(bank, rng, enterprise.id).id)],
            "relationship_manager_id": RM,
        }
    )
    with pytest.raises(ic.PreconditionFailed) as stale:
        bank.submit_application(draft.id, if_match=draft.version + 1)
    assert stale.value.status == 412
    assert bank.get_application(draft.id).state == "draft"
    submitted = bank.submit_application(draft.id, if_match=draft.version)
    assert submitted.state == "submitted" and submitted.version > draft.version


@pytest.mark.committed
async def test_the_async_client_reads_the_same(desks, service):
    base, _ = service
    bank = desks["bank_system"]
    token = bank._http.token
    assert isinstance(token, str)
    async with ic.AsyncClient(base, token=token) as api:
        first = await api.list_applications(limit=2)
        everything = [a.id async for a in api.iter_applications(limit=2)]
        assert everything[: len(first.items)] == [a.id for a in first.items]
        assert len(everything) == len(set(everything)) == len(list(bank.iter_applications()))
        with pytest.raises(ic.NotFound):
            await api.get_loan(uuid.uuid4())
