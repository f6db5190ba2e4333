"""The demo's steps, in the order a loan lives them, each with the operations to read about in
``/docs`` (linked from the service's own OpenAPI document)."""

from app.demo.state import Step
from app.demo.steps import origination, pool, projection, servicing, setup

STEPS = (
    Step(
        "keys",
        "an API key for every role",
        setup.keys,
        (("POST", "/v1/api-keys"),),
    ),
    Step(
        "setup",
        "admin set-up: calendar, LPR, district programmes, webhook endpoint",
        setup.setup,
        (
            ("GET", "/v1/calendar/days"),
            ("PUT", "/v1/lpr/{fixing_date}"),
            ("POST", "/v1/subsidy-programs"),
            ("POST", "/v1/webhook-endpoints"),
        ),
    ),
    Step(
        "enterprise",
        "an enterprise and its patents, valued",
        origination.enterprise,
        (("POST", "/v1/enterprises"), ("POST", "/v1/ip-assets/{asset_id}/valuations")),
    ),
    Step(
        "applications",
        "an application in each approval-clock tier",
        origination.applications,
        (("POST", "/v1/applications/{application_id}/submit"),),
    ),
    Step(
        "approval",
        "quote with the capped discount, and approval",
        origination.approval,
        (
            ("POST", "/v1/applications/{application_id}/quotes"),
            ("POST", "/v1/applications/{application_id}/decision"),
        ),
    ),
    Step(
        "pledges",
        "pledges registered with CNIPA",
        servicing.pledges,
        (("POST", "/v1/pledges/{pledge_id}/registration"),),
    ),
    Step(
        "disbursement",
        "disbursement and repayment schedule",
        servicing.disbursement,
        (("POST", "/v1/applications/{application_id}/disbursement"),),
    ),
    Step(
        "repayment",
        "a repayment that raises an interest-subsidy claim",
        servicing.repayment,
        (("POST", "/v1/loans/{loan_id}/repayments"), ("GET", "/v1/subsidy-claims/{claim_id}")),
    ),
    Step(
        "webhook",
        "the signed webhook, delivered and verified",
        servicing.webhook,
        (("GET", "/v1/webhook-events"), ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries")),
    ),
    Step(
        "pool",
        "a small securitisation pool and its data tape",
        pool.pool,
        (("POST", "/v1/pools/{pool_id}/selection"), ("GET", "/v1/pools/{pool_id}/tape")),
    ),
    Step(
        "projection",
        "the pool's cash flows under stress, its tranches and the chart",
        projection.projection,
        (("POST", "/v1/pools/{pool_id}/projections"),),
    ),
)
