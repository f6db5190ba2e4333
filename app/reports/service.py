"""Read-only reports over a period of dates: the approval SLA, the campaign's figures, and the
district subsidy programmes. Who sees what: a relationship manager only their own
applications; a district bureau only its district's programmes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from app.applications import sla
from app.core.context import Ctx
from app.core.errors import ValidationFailed, field_error
from app.core.roles import Role
from app.core.types import SHANGHAI
from app.reports import repository
from app.reports.schemas import (
    CampaignDistrict,
    CampaignFigures,
    CampaignIndustry,
    CampaignReport,
    SlaFigures,
    SlaReport,
    SubsidyFigures,
    SubsidyProgramFigures,
    SubsidyReport,
)

MAX_PERIOD_DAYS = 366
# The tiers a report lists, in order: the approval clock's own (``sla.TIER_DAYS``).
TIERS = sla.TIER_DAYS
_RATIO = Decimal("0.0001")


def check_period(start: date, end: date) -> None:
    """A period ``from`` … ``to``, its dates already within the accepted range
    (``app.core.types``): in order, and at most ``MAX_PERIOD_DAYS`` long."""
    if end < start:
        raise ValidationFailed(
            "`to` is before `from`", errors=[field_error(["query", "to"], "before `from`")]
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            f"a report covers at most {MAX_PERIOD_DAYS} days",
            errors=[field_error(["query", "to"], f"more than {MAX_PERIOD_DAYS} days from `from`")],
        )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _own_applications(ctx: Ctx) -> str | None:
    """The relationship manager whose applications alone the caller may count, if any."""
    principal = ctx.principal
    return principal.subject if principal.role is Role.RELATIONSHIP_MANAGER else None


def _sla_figures(tier: int | None, row: asyncpg.Record | None) -> SlaFigures:
    counts = {s.value: row[s.value] if row else 0 for s in repository.SLA_STATES}
    decided = counts["met"] + counts["missed"]
    rate = None
    if decided:
        rate = (Decimal(counts["met"]) / decided).quantize(_RATIO, rounding=ROUND_HALF_UP)
    return SlaFigures(
        tier_working_days=tier,
        received=row["received"] if row else 0,
        decided=decided,
        open=counts["running"] + counts["at_risk"] + counts["breached"],
        compliance_rate=rate,
        median_working_days_to_decision=row["median"] if row else None,
        **counts,
    )


async def sla_report(ctx: Ctx, *, start: date, end: date) -> SlaReport:
    check_period(start, end)
    own = _own_applications(ctx)
    rows = await repository.sla_figures(
        ctx.db,
        received_from=_day_start(start),
        received_before=_day_start(end + timedelta(days=1)),
        now=ctx.now,
        today=ctx.today,
        relationship_manager_id=own,
    )
    by_tier = {row["tier"]: row for row in rows}
    return SlaReport(
        from_=start,
        to=end,
        as_of=ctx.now,
        relationship_manager_id=own,
        tiers=[_sla_figures(tier, by_tier.get(tier)) for tier in TIERS],
        overall=_sla_figures(None, by_tier.get(0)),
    )


_CAMPAIGN_FIELDS = tuple(CampaignFigures.model_fields)


def _campaign_values(row: asyncpg.Record) -> dict[str, Any]:
    """A row's figures; a group nothing was received in has nulls, which are zeros."""
    return {name: row[name] or 0 for name in _CAMPAIGN_FIELDS}


async def campaign_report(ctx: Ctx, *, start: date, end: date) -> CampaignReport:
    check_period(start, end)
    own = _own_applications(ctx)
    rows = await repository.campaign_figures(
        ctx.db,
        received_from=_day_start(start),
        received_before=_day_start(end + timedelta(days=1)),
        relationship_manager_id=own,
    )
    industries: list[CampaignIndustry] = []
    districts: list[CampaignDistrict] = []
    total = CampaignFigures(**_campaign_values(rows[-1]))  # the statement's last row
    for row in rows[:-1]:
        values = _campaign_values(row)
        match row["dimension"]:
            case "industry":
                industries.append(CampaignIndustry(industry=row["key"], **values))
            case "district":
                districts.append(
                    CampaignDistrict(district_code=row["key"], district_name=row["name"], **values)
                )
    return CampaignReport(
        from_=start,
        to=end,
        relationship_manager_id=own,
        by_industry=industries,
        by_district=districts,
        total=total,
    )


async def subsidy_report(ctx: Ctx, *, start: date, end: date) -> SubsidyReport:
    check_period(start, end)
    principal = ctx.principal
    district = principal.subject if principal.role is Role.DISTRICT_BUREAU else None
    rows = await repository.subsidy_figures(ctx.db, start=start, end=end, district_code=district)
    *programs, total = rows
    return SubsidyReport(
        from_=start,
        to=end,
        district_code=district,
        programs=[SubsidyProgramFigures.model_validate(dict(row)) for row in programs],
        total=SubsidyFigures.model_validate(dict(total)),
    )
