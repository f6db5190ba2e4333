"""Reading applications: one, or a page of them filtered as the caller asks."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import UUID

from app.applications import repository, sla
from app.applications.domain import Application, ApplicationPage
from app.applications.rules import visible
from app.applications.states import ApplicationState
from app.core.context import Ctx
from app.core.roles import Role
from app.core.schemas import decode_cursor
from app.core.sql import Filters
from app.core.types import SHANGHAI


async def get_application(ctx: Ctx, *, application_id: UUID) -> Application:
    return Application.of(visible(ctx, await repository.get(ctx.db, application_id)))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _sla_clause(filters: Filters, ctx: Ctx, sla_state: sla.SlaState) -> str:
    clause = sla.sla_filter(sla_state, "{now}", "{today}")
    if "{now}" in clause:
        clause = clause.replace("{now}", filters.param(ctx.now))
    if "{today}" in clause:
        clause = clause.replace("{today}", filters.param(ctx.today))
    return clause


async def list_applications(
    ctx: Ctx,
    *,
    state: ApplicationState | None,
    sla_state: sla.SlaState | None,
    district_code: str | None,
    industry: str | None,
    relationship_manager_id: str | None,
    received_from: date | None,
    received_to: date | None,
    cursor: str | None,
    limit: int,
) -> ApplicationPage:
    filters = Filters()
    if ctx.principal.role is Role.RELATIONSHIP_MANAGER:
        filters.add("a.relationship_manager_id = {}", ctx.principal.subject)
    filters.when(relationship_manager_id, "a.relationship_manager_id = {}")
    filters.when(None if state is None else state.value, "a.state = {}")
    filters.when(district_code, "a.district_code = {}")
    filters.when(industry, "a.industry = {}")
    if received_from is not None:
        filters.add("a.received_at >= {}", _day_start(received_from))
    if received_to is not None:
        filters.add("a.received_at < {}", _day_start(received_to + timedelta(days=1)))
    if sla_state is not None:
        filters.add(_sla_clause(filters, ctx, sla_state))
    filters.when(decode_cursor(cursor), "a.id < {}")
    limit_param = filters.param(limit + 1)
    rows = await repository.page(
        ctx.db, where=filters.where(), args=filters.args, limit_param=limit_param
    )
    return ApplicationPage.of(rows, limit)
