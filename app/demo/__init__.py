"""``ipledge demo``: a guided run for a newcomer against the running service.

It does over HTTP what a bank's integrator, its credit officers, a district bureau and the
structured-finance desk would do, step by step, and prints what each step did, the figures that
matter and where to read about them in ``/docs``:

keys for every role → an LPR fixing, the district's subsidy programmes and a webhook endpoint →
an enterprise with patents → an application in each approval-clock tier, one across a public
holiday → a quote with the capped discount and the approval → pledges registered → disbursement
→ a repayment that raises an interest-subsidy claim → the signed webhook, verified by a receiver
the demo runs on 127.0.0.1 → a small securitisation pool, locked, and its data tape.

Everything it makes stays in the service's database, like any other client's data. It disables
its webhook endpoint when it ends, since its receiver goes with it.
"""

from __future__ import annotations

import httpx

from app.demo.client import Api, ApiError, Unreachable, field_errors
from app.demo.console import Out, Outcome
from app.demo.dates import REACH_BACK_DAYS
from app.demo.state import Failed, Fatal, Options, Run, Skip
from app.demo.steps import STEPS

__all__ = ["Options", "run_demo"]

# On the embedded PostgreSQL the service's development defaults let every step run; a service
# on a database of its own keeps the strict defaults unless told otherwise.
SERVICE_HINT = (
    "make run   (with IPLEDGE_DATABASE_URL set, add IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true "
    f"IPLEDGE_MAX_BACKDATE_DAYS={REACH_BACK_DAYS} for every step)"
)


def run_demo(options: Options) -> int:
    """Run every step. 0 when each was done (or partly done, or skipped, for a stated reason),
    1 when one failed, 2 when the demo could not start (no service, no key it accepts)."""
    out = Out(color=options.color)
    api = Api(options.url)
    out.banner(
        "ipledge demo: one IP-pledge loan from intake to securitisation",
        f"against the service at {api.base_url}; every request is an ordinary API call",
    )
    try:
        status, today = api.service_today()
    except (Unreachable, ApiError) as exc:
        out.error(f"no ipledge service answers at {api.base_url} ({exc})")
        out.info(f"start it first, in another terminal:  {SERVICE_HINT}")
        api.close()
        return 2
    out.info(f"service {status}; its date in Asia/Shanghai: {today:%a %d %b %Y}")
    run = Run(api=api, out=out, options=options, today=today)
    try:
        outcomes = _steps(run)
    except (Fatal, Unreachable, httpx.TransportError) as exc:
        out.error(str(exc) or type(exc).__name__)
        return 2
    finally:
        _tidy(run)
        api.close()
    out.summary(outcomes)
    out.console.print()
    out.info(
        f"Explore what was made: {api.base_url}/docs (Authorize with the admin key above); "
        "every change is in the audit trail, GET /v1/audit-events"
    )
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _steps(run: Run) -> list[Outcome]:
    outcomes: list[Outcome] = []
    failed = False
    for number, step in enumerate(STEPS, start=1):
        if failed:
            outcomes.append(Outcome(step.name, step.title, "not run"))
            continue
        run.out.step(number, len(STEPS), step.title)
        docs = [run.api.docs(method, path) for method, path in step.docs]
        run.caveats.clear()
        try:
            step.run(run)
            if run.caveats:
                outcome = Outcome(step.name, step.title, "partial", note=run.caveats[0])
            else:
                outcome = Outcome(step.name, step.title, "done", docs=docs[0] if docs else "")
        except Skip as skip:
            run.out.note(f"skipped: {skip}")
            outcome = Outcome(step.name, step.title, "skipped", note=str(skip))
        except ApiError as exc:
            run.out.error(
                f"{exc.method} {exc.url} answered {exc.status} {exc.problem_slug}: {exc.detail}"
            )
            for error in field_errors(exc):
                run.out.info(error)
            outcome = Outcome(
                step.name, step.title, "failed", note=f"{exc.status} {exc.problem_slug}"
            )
        except Failed as exc:
            run.out.error(str(exc))
            outcome = Outcome(step.name, step.title, "failed", note=str(exc))
        except (KeyError, TypeError, ValueError) as exc:
            # An answer without a field SPEC promises (or of another shape).
            run.out.error(f"unexpected answer from the service: {type(exc).__name__} {exc}")
            outcome = Outcome(step.name, step.title, "failed", note=f"unexpected answer: {exc}")
        failed = outcome.status == "failed"
        run.out.docs(docs)
        outcomes.append(outcome)
    return outcomes


def _tidy(run: Run) -> None:
    """Disable the demo's webhook endpoint: its receiver ends with the demo, and a worker would
    otherwise retry deliveries to it for hours."""
    if run.endpoint_id is not None:
        try:
            run.as_("admin").disable_webhook_endpoint(
                run.endpoint_id, {"reason": "the demo's receiver has stopped"}
            )
            run.out.info(f"disabled the demo's webhook endpoint {run.endpoint_id} on the way out")
        except (ApiError, Unreachable, httpx.TransportError) as exc:
            run.out.note(f"could not disable webhook endpoint {run.endpoint_id}: {exc}")
    if run.receiver is not None:
        run.receiver.stop()
