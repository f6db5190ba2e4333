"""Steps 6 to 9: the pledges registered with CNIPA, the disbursement and its schedule, a
repayment that pays interest and so raises an interest-subsidy claim, and the signed webhook
that tells the district bureau."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from ipledge_client import models

from app.demo import database
from app.demo.console import cny, count
from app.demo.dates import REACH_BACK_DAYS
from app.demo.receiver import Delivery
from app.demo.state import DISTRICT, Failed, Run, Skip

EARLY_PAYMENT = "100000.00"  # paid before the first due date when the loan is booked today
# How long the webhook step gives a running worker before relaying the event itself.
WORKER_GRACE_S = 3.0


def _value_date(run: Run) -> date:
    """The loan's value date: a month ago (so an instalment has fallen due), or today when the
    service refused the back-dated receipt it needs."""
    assert run.loan_dates is not None
    return run.loan_dates.disbursed_on if run.loan_backdated else run.today


def pledges(run: Run) -> None:
    app = run.applications["approved"]
    registered_on = _value_date(run)
    officer = run.as_("credit_officer")
    for pledge in app.pledges:
        number = f"Y{registered_on.year}{DISTRICT[:4]}{run.rng.randint(0, 99_999_999):08d}"
        registered = officer.register_pledge(
            pledge.id, {"registration_no": number, "registered_on": registered_on}
        )
        run.out.did(
            f"pledge {registered.id} {registered.state} with CNIPA: registration "
            f"{registered.registration_no} on {registered.registered_on}"
        )
    run.out.info("disbursement needs every pledge registered (problem:pledge-not-registered)")


def disbursement(run: Run) -> None:
    app = run.applications["approved"]
    disbursed_on = _value_date(run)
    loan = run.as_("credit_officer").disburse_loan(
        app.id, {"disbursed_on": disbursed_on, "repayment_method": "equal_installment"}
    )
    run.loan = loan
    run.out.did(f"loan {loan.id} disbursed: {cny(loan.principal)} on {loan.disbursed_on}")
    if disbursed_on < run.today:
        run.out.info("a value date in the past, as a back-office posting may carry")
    run.out.fact("rate, method", f"{loan.rate_bp} bp, {loan.repayment_method} (等额本息)")
    run.out.fact("maturity", f"{loan.maturity_date} after {len(loan.schedule)} instalments")
    first = loan.schedule[0]
    run.out.fact(
        "first instalment",
        f"due {first.due_date}: principal {first.principal} + interest "
        f"{first.interest} = {cny(first.principal + first.interest)}",
        strong=True,
    )
    run.out.fact("state", f"{loan.state}, {loan.days_past_due} days past due today")


def repayment(run: Run) -> None:
    loan = run.loan
    assert loan is not None
    officer = run.as_("credit_officer")
    first = loan.schedule[0]
    due = first.due_date
    if due > run.today:
        # Before the first due date: the money pays instalment 1 (interest, then principal)
        # ahead of time, and only what is left over prepays principal.
        paid = officer.post_repayment(loan.id, {"paid_on": run.today, "amount": EARLY_PAYMENT})
        run.out.did(
            f"repayment of {cny(paid.amount)} posted on {paid.paid_on}, before instalment "
            f"{first.seq} falls due on {due}"
        )
    else:
        paid = officer.post_repayment(
            loan.id, {"paid_on": due, "amount": first.principal + first.interest}
        )
        run.out.did(f"repayment of {cny(paid.amount)} posted, paid on {paid.paid_on}")
    run.loan = paid.loan
    _allocation(run, paid)
    if paid.interest_paid == 0:
        raise Skip(
            "the repayment paid no interest, so no interest-subsidy claim arose. Start the "
            f"service with IPLEDGE_MAX_BACKDATE_DAYS={REACH_BACK_DAYS} so the demo can book "
            "the loan a month back"
        )
    claims = run.as_("admin").list_subsidy_claims(kind="interest_subsidy", limit=50)
    claim = next((c for c in claims.items if c.loan_id == loan.id), None)
    if claim is None:
        raise Skip("the interest payment raised no claim: no programme had room left")
    run.claim = claim
    run.out.did(f"interest-subsidy claim {claim.id} raised in the same transaction")
    run.out.fact("interest paid (basis)", cny(claim.basis_amount))
    run.out.fact("basis × share", cny(claim.computed_amount))
    run.out.fact("claim amount", cny(claim.amount), strong=True)
    run.out.fact(
        "limited_by",
        claim.limited_by or "null: within the per-loan, per-enterprise and budget limits",
        strong=True,
    )
    seen = run.as_("district_bureau").get_subsidy_claim(claim.id)
    run.out.did(f"the Nanshan bureau's key sees it: state {seen.state}, to approve or reject")


def _allocation(run: Run, paid: models.RepaymentOut) -> None:
    """Where the money went, as the answer says: each instalment it paid, then what it
    prepaid."""
    for line in paid.allocation:
        parts = f"interest {line.interest}, principal {line.principal}"
        if line.penalty_interest:
            parts = f"penalty interest {line.penalty_interest}, " + parts
        run.out.fact(f"  instalment {line.seq}", parts)
    if paid.prepaid_principal:
        run.out.fact(
            "  prepaid principal",
            f"{cny(paid.prepaid_principal)} ({paid.prepayment_option}: the later instalments "
            "re-amortised on the lower balance)",
        )
    run.out.fact("outstanding principal", str(paid.loan.outstanding_principal))


def webhook(run: Run) -> None:
    receiver = run.receiver
    if receiver is None:
        raise Skip(run.no_webhook_reason)
    assert run.loan is not None
    if run.claim is not None:
        wanted, label = "subsidy.claim.created", f"claim {run.claim.id}"
        field, value = "claim_id", str(run.claim.id)
    else:
        wanted, label = "loan.disbursed", f"loan {run.loan.id}"
        field, value = "loan_id", str(run.loan.id)

    def ours(delivery: Delivery) -> bool:
        return delivery.type == wanted and delivery.data.get(field) == value

    wait = run.options.webhook_wait_s
    delivery = None
    if not run.options.relay:
        grace = min(wait, WORKER_GRACE_S)
        run.out.did(f"waiting up to {grace:g} s for a worker (make worker) to deliver")
        delivery = receiver.wait_for(ours, timeout=grace)
    if delivery is None:
        # No worker (or --relay): the demo runs relay passes itself, exactly as the worker's
        # loop makes them, so the newcomer sees the delivery without starting one.
        made = database.relay_until(
            lambda: receiver.find(ours) is not None, timeout=wait, allow_private=True
        )
        run.out.did(
            "ran the webhook relay in this process, as `ipledge worker` does: "
            + count(made, "delivery attempt")
        )
        delivery = receiver.find(ours)
    if delivery is None:
        raise Skip(_undelivered(run, wanted, field, value, wait))
    if not delivery.verified:
        raise Failed(f"the delivery of {label} did not verify: {delivery.error}")
    run.out.did(f"{wanted} for {label} received at {receiver.url}")
    run.out.fact("webhook-id", delivery.webhook_id, strong=True)
    run.out.fact(
        "signature",
        "verified with the standardwebhooks library ("
        + count(delivery.signatures, "v1 signature")
        + ", HMAC-SHA256 of id.timestamp.body)",
        strong=True,
    )
    run.out.fact("data", _brief(delivery.data))
    others = [d for d in receiver.deliveries if d is not delivery]
    if others:
        verified = sum(d.verified for d in others)
        run.out.info(
            f"{count(len(others), 'other delivery', 'other deliveries')} received too, "
            f"{verified} verified"
        )
    attempt = _recorded_attempt(run, delivery.webhook_id)
    if attempt is not None:
        run.out.fact("attempt recorded", f"status {attempt.status_code}, {attempt.latency_ms} ms")


def _recorded_attempt(run: Run, event_id: str) -> models.WebhookAttemptOut | None:
    """The attempt as the service recorded it: the relay writes it once the answer is in, a
    moment after the receiver saw the request."""
    assert run.endpoint_id is not None
    for _ in range(10):
        attempts = run.as_("admin").list_webhook_deliveries(run.endpoint_id, limit=50).items
        found = next((a for a in attempts if str(a.event_id) == event_id), None)
        if found is not None:
            return found
        time.sleep(0.3)
    return None


def _brief(data: dict[str, Any]) -> str:
    shown = ("amount", "limited_by", "state", "principal", "rate_bp", "disbursed_on")
    return ", ".join(f"{k}={json.dumps(data[k])}" for k in shown if k in data)


def _undelivered(run: Run, wanted: str, field: str, value: str, wait: float) -> str:
    """Why nothing came: no worker took the event up, or it tried and failed."""
    events = run.as_("admin").list_webhook_events(type=wanted, limit=50).items
    event = next((e for e in events if e.data.get(field) == value), None)
    deliveries = [] if event is None else event.deliveries
    ours = next((d for d in deliveries if str(d.endpoint_id) == run.endpoint_id), None)
    if ours is None or ours.attempts == 0:
        return (
            f"{wanted} was not delivered within {wait:g} s, by a worker or by the demo's own "
            "relay: is the demo using the service's database (IPLEDGE_DATABASE_URL)?"
        )
    answer = ours.last_error or f"the receiver answered {ours.last_status_code}"
    return (
        f"the relay tried {count(ours.attempts, 'time')} and failed ({answer}). A worker "
        "delivering to 127.0.0.1 needs IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true"
    )
