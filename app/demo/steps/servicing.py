"""Steps 6 to 9: the pledges registered with CNIPA, the disbursement and its schedule, a
repayment that pays interest and so raises an interest-subsidy claim, and the signed webhook
that tells the district bureau."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal
from typing import Any

from app.demo import database
from app.demo.console import cny, count
from app.demo.dates import REACH_BACK_DAYS
from app.demo.receiver import Delivery
from app.demo.state import DISTRICT, Failed, Run, Skip

PREPAYMENT = "100000.00"


def _value_date(run: Run) -> date:
    """The loan's value date: a month ago (so an instalment has fallen due), or today when the
    service refused the back-dated receipt it needs."""
    assert run.loan_dates is not None
    return run.loan_dates.disbursed_on if run.loan_backdated else run.today


def pledges(run: Run) -> None:
    app = run.applications["approved"]
    registered_on = _value_date(run)
    for pledge in app["pledges"]:
        number = f"Y{registered_on.year}{DISTRICT[:4]}{run.rng.randint(0, 99_999_999):08d}"
        registered = run.api.post(
            f"/v1/pledges/{pledge['id']}/registration",
            run.officer,
            {"registration_no": number, "registered_on": registered_on.isoformat()},
        )
        run.out.did(
            f"pledge {registered['id']} {registered['state']} with CNIPA: registration "
            f"{registered['registration_no']} on {registered['registered_on']}"
        )
    run.out.info("disbursement needs every pledge registered (problem:pledge-not-registered)")


def disbursement(run: Run) -> None:
    app = run.applications["approved"]
    disbursed_on = _value_date(run)
    loan = run.api.post(
        f"/v1/applications/{app['id']}/disbursement",
        run.officer,
        {"disbursed_on": disbursed_on.isoformat(), "repayment_method": "equal_installment"},
    )
    run.loan = loan
    run.out.did(f"loan {loan['id']} disbursed: {cny(loan['principal'])} on {loan['disbursed_on']}")
    if disbursed_on < run.today:
        run.out.info("a value date in the past, as a back-office posting may carry")
    run.out.fact("rate, method", f"{loan['rate_bp']} bp, {loan['repayment_method']} (等额本息)")
    run.out.fact("maturity", f"{loan['maturity_date']} after {len(loan['schedule'])} instalments")
    first = loan["schedule"][0]
    total = Decimal(first["principal"]) + Decimal(first["interest"])
    run.out.fact(
        "first instalment",
        f"due {first['due_date']}: principal {first['principal']} + interest "
        f"{first['interest']} = {cny(total)}",
        strong=True,
    )
    run.out.fact("state", f"{loan['state']}, {loan['days_past_due']} days past due today")


def repayment(run: Run) -> None:
    loan = run.loan
    first = loan["schedule"][0]
    due = date.fromisoformat(first["due_date"])
    if due > run.today:
        paid = run.api.post(
            f"/v1/loans/{loan['id']}/repayments",
            run.officer,
            {"paid_on": run.today.isoformat(), "amount": PREPAYMENT},
        )
        run.loan = paid["loan"]
        run.out.did(f"prepaid {cny(PREPAYMENT)} of principal on {paid['paid_on']}")
        raise Skip(
            f"no instalment is due before {due}, so no interest was paid and no interest-"
            "subsidy claim arose. Start the service with IPLEDGE_MAX_BACKDATE_DAYS="
            f"{REACH_BACK_DAYS} so the demo can book the loan a month back"
        )
    amount = Decimal(first["principal"]) + Decimal(first["interest"])
    paid = run.api.post(
        f"/v1/loans/{loan['id']}/repayments",
        run.officer,
        {"paid_on": due.isoformat(), "amount": f"{amount:.2f}"},
    )
    run.loan = paid["loan"]
    run.out.did(f"repayment of {cny(paid['amount'])} posted, paid on {paid['paid_on']}")
    for line in paid["allocation"]:
        run.out.fact(
            f"  instalment {line['seq']}",
            f"interest {line['interest']}, principal {line['principal']}",
        )
    run.out.fact("outstanding principal", run.loan["outstanding_principal"])
    claims = run.api.get("/v1/subsidy-claims", run.admin, kind="interest_subsidy", limit=50)
    claim = next((c for c in claims["items"] if c["loan_id"] == loan["id"]), None)
    if claim is None:
        raise Skip("the interest payment raised no claim: no programme had room left")
    run.claim = claim
    run.out.did(f"interest-subsidy claim {claim['id']} raised in the same transaction")
    run.out.fact("interest paid (basis)", cny(claim["basis_amount"]))
    run.out.fact("basis × share", cny(claim["computed_amount"]))
    run.out.fact("claim amount", cny(claim["amount"]), strong=True)
    run.out.fact(
        "limited_by",
        claim["limited_by"] or "null: within the per-loan, per-enterprise and budget limits",
        strong=True,
    )
    seen = run.api.get(f"/v1/subsidy-claims/{claim['id']}", run.key("district_bureau"))
    run.out.did(f"the Nanshan bureau's key sees it: state {seen['state']}, to approve or reject")


def webhook(run: Run) -> None:
    receiver = run.receiver
    if receiver is None:
        raise Skip(run.no_webhook_reason)
    if run.claim:
        wanted, label = "subsidy.claim.created", f"claim {run.claim['id']}"
        field, value = "claim_id", run.claim["id"]
    else:
        wanted, label = "loan.disbursed", f"loan {run.loan['id']}"
        field, value = "loan_id", run.loan["id"]

    def ours(delivery: Delivery) -> bool:
        return delivery.type == wanted and delivery.data.get(field) == value

    wait = run.options.webhook_wait_s
    if run.options.relay:
        made = database.relay_until(
            lambda: receiver.find(ours) is not None, timeout=wait, allow_private=True
        )
        run.out.did(
            f"ran the webhook relay in this process (--relay): {count(made, 'delivery attempt')}"
        )
        delivery = receiver.find(ours)
    else:
        run.out.did(f"waiting up to {wait:g} s for a worker (make worker) to deliver")
        delivery = receiver.wait_for(ours, timeout=wait)
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
        run.out.fact(
            "attempt recorded",
            f"status {attempt['status_code']}, {attempt['latency_ms']} ms",
        )


def _recorded_attempt(run: Run, event_id: str) -> dict[str, Any] | None:
    """The attempt as the service recorded it: the relay writes it once the answer is in, a
    moment after the receiver saw the request."""
    for _ in range(10):
        attempts = run.api.get(
            f"/v1/webhook-endpoints/{run.endpoint_id}/deliveries", run.admin, limit=50
        )["items"]
        found: dict[str, Any] | None = next(
            (a for a in attempts if a["event_id"] == event_id), None
        )
        if found is not None:
            return found
        time.sleep(0.3)
    return None


def _brief(data: dict[str, Any]) -> str:
    shown = ("amount", "limited_by", "state", "principal", "rate_bp", "disbursed_on")
    return ", ".join(f"{k}={json.dumps(data[k])}" for k in shown if k in data)


def _undelivered(run: Run, wanted: str, field: str, value: str, wait: float) -> str:
    """Why nothing came: no worker took the event up, or it tried and failed."""
    events = run.api.get("/v1/webhook-events", run.admin, type=wanted, limit=50)["items"]
    event = next((e for e in events if e["data"].get(field) == value), None)
    deliveries = [] if event is None else event["deliveries"]
    ours = next((d for d in deliveries if d["endpoint_id"] == run.endpoint_id), None)
    if ours is None or ours["attempts"] == 0:
        return (
            f"no worker delivered {wanted} within {wait:g} s: run `make worker` "
            "(with IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true) beside the service, or run the demo "
            "with --relay"
        )
    answer = ours["last_error"] or f"the receiver answered {ours['last_status_code']}"
    return (
        f"the relay tried {count(ours['attempts'], 'time')} and failed ({answer}). A worker "
        "delivering to 127.0.0.1 needs IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true"
    )
