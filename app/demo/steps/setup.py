"""Steps 1 and 2: a key for every role, and what an admin sets up before any lending: the
calendar is checked, an LPR fixing, the district's subsidy programmes, the bureau's webhook
endpoint."""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta
from typing import Any, Literal

from ipledge_client import models

from app.demo import database
from app.demo.client import ApiError
from app.demo.console import cny
from app.demo.dates import (
    REACH_BACK_DAYS,
    Calendar,
    Day,
    add_months,
    holiday_receipt,
    loan_dates,
)
from app.demo.identities import ENTERPRISE
from app.demo.receiver import Receiver
from app.demo.state import DISTRICT, RELATIONSHIP_MANAGER, Fatal, Run

KEY_NAME = "ipledge demo"
ROLES = (
    ("relationship_manager", RELATIONSHIP_MANAGER),
    ("credit_officer", None),
    ("district_bureau", DISTRICT),
    ("securitization", None),
)
# The 1-year and 5-year LPR fixed on 20 May 2025 (3.00% and 3.50%), recorded when the service
# has no fixing yet; one it has is never overwritten.
LPR_FIXING = ("2025-05-20", 300, 350)
WEBHOOK_EVENTS = ["loan.disbursed", "subsidy.claim.created"]


def keys(run: Run) -> None:
    if run.options.admin_key:
        run.keys["admin"] = run.options.admin_key
        run.out.did("using the admin key given with --admin-key")
    else:
        try:
            admin, key_id = database.create_admin_key(KEY_NAME)
        except Exception as exc:
            raise Fatal(
                f"could not create an admin key in the database ({type(exc).__name__}: {exc}). "
                "Run the demo with the service's IPLEDGE_DATABASE_URL (or --database-url), "
                "or pass --admin-key"
            ) from exc
        run.keys["admin"] = admin
        run.out.did(
            f"admin key {key_id} created in the service's database, as "
            "`ipledge keys create --role admin` does"
        )
    admin_api = run.as_("admin")
    try:
        admin_api.list_api_keys(limit=1)
    except ApiError as exc:
        if exc.status in (401, 403):
            raise Fatal(
                f"the service at {run.api.base_url} does not accept that admin key: it uses "
                "another database. Run the demo with the IPLEDGE_DATABASE_URL the service "
                "runs with (or --database-url), or pass --admin-key"
            ) from exc
        raise
    for role, subject in ROLES:
        created = admin_api.create_api_key({"role": role, "subject": subject, "name": KEY_NAME})
        run.keys[role] = _shown_once(created.key, f"the {role} key")
        run.out.did(f"{role} key {created.id}" + (f" (subject {subject})" if subject else ""))
    run.out.fact("admin key, shown once (Authorize with it in /docs)", run.admin, strong=True)


def setup(run: Run) -> None:
    _calendar(run)
    _lpr(run)
    _programmes(run)
    _webhook_endpoint(run)


def _calendar(run: Run) -> None:
    start, end = run.today - timedelta(days=REACH_BACK_DAYS), run.today + timedelta(days=40)
    answer = run.as_("admin").list_calendar_days(from_=start, to=end)
    run.calendar = Calendar(
        Day(item.date, item.is_working, item.kind, item.holiday_name) for item in answer.items
    )
    run.loan_dates = loan_dates(run.calendar, run.today)
    run.holiday_received_on = holiday_receipt(run.calendar, run.today)
    run.out.did(f"read the working-day calendar from {start} to {end}")
    run.out.fact("today in Asia/Shanghai", f"{run.today:%a %d %b %Y}")
    if answer.unpublished_years:
        years = ", ".join(str(y) for y in answer.unpublished_years)
        run.out.info(
            f"not yet published: {years}; deadlines that reach it wait as pending_calendar "
            "until an admin imports the State Council's notice (PUT /v1/calendar/years/{year})"
        )


def _lpr(run: Run) -> None:
    admin = run.as_("admin")
    fixings = admin.list_lpr_fixings(limit=50).items
    in_force = next((f for f in fixings if f.fixing_date <= run.today), None)
    if in_force is None:
        fixing_date, one_year, five_year = LPR_FIXING
        in_force = admin.put_lpr_fixing(
            date.fromisoformat(fixing_date),
            models.LprFixingIn(one_year_bp=one_year, five_year_bp=five_year),
        )
        run.out.did(f"recorded the LPR fixing of {fixing_date} (PUT /v1/lpr/{fixing_date})")
    else:
        run.out.did("the service already has an LPR fixing in force; it is used as it is")
    run.out.fact(
        "1-year LPR in force",
        f"{in_force.one_year_bp} bp ({in_force.one_year_bp / 100:.2f}%), "
        f"fixed {in_force.fixing_date}",
        strong=True,
    )


def _programme(
    run: Run, kind: Literal["interest_subsidy", "risk_compensation"], on: date, body: dict[str, Any]
) -> models.ProgramOut:
    """The district's programme of ``kind`` in force on ``on`` for that budget year, or a new
    one: each run reuses it rather than stacking programmes (every programme claims)."""
    admin = run.as_("admin")
    for programme in admin.iter_subsidy_programs(district_code=DISTRICT, kind=kind, limit=200):
        ends = programme.effective_to
        if (
            programme.budget_year == on.year
            and programme.effective_from <= on
            and (ends is None or on <= ends)
            and (not programme.industries or ENTERPRISE["industry"] in programme.industries)
        ):
            run.out.did(f"{kind} programme in force: {programme.name} (reused)")
            return programme
    programme = admin.create_subsidy_program(body)
    run.out.did(f"{kind} programme created: {programme.name}")
    return programme


def _cap(amount: object | None) -> str:
    return "no limit" if amount is None else cny(amount)


def _programmes(run: Run) -> None:
    assert run.loan_dates is not None
    paid_on = add_months(run.loan_dates.disbursed_on, 1)
    year, today_year = paid_on.year, run.today.year
    subsidy = _programme(
        run,
        "interest_subsidy",
        paid_on,
        {
            "district_code": DISTRICT,
            "kind": "interest_subsidy",
            "name": f"Nanshan IP-pledge loan interest subsidy {year} (demo)",
            "share": "0.50",
            "cap_per_loan": "300000.00",
            "cap_per_enterprise_year": "500000.00",
            "annual_budget": "20000000.00",
            "budget_year": year,
            "effective_from": f"{year}-01-01",
            "effective_to": f"{year}-12-31",
        },
    )
    run.out.fact(
        "interest subsidy",
        f"share {subsidy.share} of interest paid, capped at {_cap(subsidy.cap_per_loan)} "
        f"a loan and {_cap(subsidy.cap_per_enterprise_year)} an enterprise a year; budget "
        f"{cny(subsidy.annual_budget)}, {cny(subsidy.remaining)} left",
    )
    risk = _programme(
        run,
        "risk_compensation",
        run.today,
        {
            "district_code": DISTRICT,
            "kind": "risk_compensation",
            "name": f"Nanshan IP-pledge loan risk compensation {today_year} (demo)",
            "share": "0.40",
            "cap_per_loan": "4000000.00",
            "annual_budget": "50000000.00",
            "budget_year": today_year,
            "effective_from": f"{today_year}-01-01",
            "effective_to": f"{today_year}-12-31",
        },
    )
    run.out.fact(
        "risk compensation",
        f"share {risk.share} of a defaulted loan's principal; it also earns the "
        "district_risk_sharing pricing discount",
    )


def _webhook_endpoint(run: Run) -> None:
    if importlib.util.find_spec("standardwebhooks") is None:
        run.no_webhook_reason = (
            "the standardwebhooks library is not installed here (make install, or "
            "pip install standardwebhooks)"
        )
        run.out.note(f"no webhook receiver: {run.no_webhook_reason}")
        return
    receiver = Receiver().start()
    body = {"url": receiver.url, "event_types": WEBHOOK_EVENTS, "district_code": DISTRICT}
    try:
        endpoint = run.as_("admin").create_webhook_endpoint(body)
    except ApiError as exc:
        receiver.stop()
        if not exc.about("body", "url"):
            raise
        run.no_webhook_reason = (
            "the service refuses webhook URLs on loopback or private addresses. Start it (and "
            "the worker) with IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true to let it deliver to the "
            "demo's receiver on 127.0.0.1"
        )
        run.out.note(f"webhook endpoint refused ({exc.detail}): {run.no_webhook_reason}")
        return
    receiver.secret = _shown_once(endpoint.secret, "the endpoint's signing secret")
    run.receiver, run.endpoint_id = receiver, endpoint.id
    run.out.did(f"started the bureau's webhook receiver at {receiver.url}")
    run.out.did(f"registered it as webhook endpoint {endpoint.id} for district {DISTRICT}")
    run.out.fact("events", ", ".join(endpoint.event_types))
    run.out.fact("signing secret (returned once)", receiver.secret[:12] + "…")


def _shown_once(secret: str | None, what: str) -> str:
    """A secret from the answer that created it; null only when the client's retry of a request
    whose answer was lost got the replay, which never shows a secret again."""
    if secret is None:
        raise Fatal(f"{what} was lost in transit (a secret is shown once): run the demo again")
    return secret
