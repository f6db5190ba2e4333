"""Every router the application mounts. A request is matched against the routes in this order
(and the OpenAPI document lists them so): the lending flow's busiest operations first, so that
they are found after the fewest comparisons."""

from app.applications.endpoints import router as applications_router
from app.audit.endpoints import router as audit_router
from app.calendar.endpoints import router as calendar_router
from app.enterprises.endpoints import router as enterprises_router
from app.ip_assets.endpoints import router as ip_assets_router
from app.keys.endpoints import router as keys_router
from app.loans.endpoints import router as loans_router
from app.ops.endpoints import router as ops_router
from app.pledges.endpoints import router as pledges_router
from app.pools.endpoints import router as pools_router
from app.pricing.endpoints import router as pricing_router
from app.reports.endpoints import router as reports_router
from app.subsidies.endpoints import router as subsidies_router
from app.webhooks.endpoints import router as webhooks_router

ALL = [
    applications_router,
    loans_router,
    pricing_router,
    pledges_router,
    enterprises_router,
    ip_assets_router,
    subsidies_router,
    pools_router,
    reports_router,
    calendar_router,
    keys_router,
    audit_router,
    webhooks_router,
    ops_router,
]
