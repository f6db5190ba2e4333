"""IP assets: registered once (unique by kind and canonical number), valued any number of
times; the newest valuation is the current one. Reference data every bank role may read."""

from __future__ import annotations

from typing import NoReturn
from uuid import UUID

import asyncpg

from app.core import audit
from app.core.context import Ctx
from app.core.errors import ConcurrentUpdate, NotFound, ValidationFailed, field_error
from app.core.ids import uuid7
from app.core.schemas import Page, decode_cursor, paged
from app.identifiers import normalise_ip_number
from app.ip_assets import repository
from app.ip_assets.errors import DuplicateIpAsset
from app.ip_assets.schemas import (
    CurrentValuation,
    IpAssetCreate,
    IpAssetOut,
    ValuationCreate,
    ValuationOut,
)
from app.models.ip_asset import IP_KINDS


def _asset(row: asyncpg.Record) -> IpAssetOut:
    current = None
    if row["valuation_id"] is not None:
        current = CurrentValuation(
            id=row["valuation_id"],
            value=row["valuation_value"],
            appraiser=row["valuation_appraiser"],
            method=row["valuation_method"],
            valuation_date=row["valuation_date"],
            created_at=row["valuation_created_at"],
        )
    return IpAssetOut(
        id=row["id"],
        kind=row["kind"],
        number=row["number"],
        title=row["title"],
        holder_enterprise_id=row["holder_enterprise_id"],
        licensor_name=row["licensor_name"],
        nice_class=row["nice_class"],
        protection_expires_on=row["protection_expires_on"],
        created_at=row["created_at"],
        current_valuation=current,
        live_pledge_id=row["live_pledge_id"],
    )


def _check_filing_year(ctx: Ctx, asset_in: IpAssetCreate) -> None:
    """A patent filed in a year still to come is a mistyped number (SPEC 3.1); the year is
    today's in Asia/Shanghai, by the request's clock."""
    try:
        normalise_ip_number(asset_in.kind, asset_in.number, current_year=ctx.today.year)
    except ValueError as exc:
        raise ValidationFailed(
            str(exc), errors=[field_error(["body", "number"], str(exc))]
        ) from None


async def create_ip_asset(ctx: Ctx, *, asset_in: IpAssetCreate) -> IpAssetOut:
    _check_filing_year(ctx, asset_in)
    asset_id = uuid7()
    row = await repository.insert(
        ctx.db,
        asset_id=asset_id,
        kind=asset_in.kind,
        number=asset_in.number,
        title=asset_in.title,
        holder_enterprise_id=asset_in.holder_enterprise_id,
        licensor_name=asset_in.licensor_name,
        nice_class=asset_in.nice_class,
        protection_expires_on=asset_in.protection_expires_on,
        created_at=ctx.now,
        created_by=ctx.principal.key_id,
    )
    if row is None:
        await _refuse(ctx, asset_in)
    # A new asset has neither valuation nor pledge yet.
    asset = IpAssetOut(**dict(row), current_valuation=None, live_pledge_id=None)
    audit.record(
        ctx,
        action="ip_asset.created",
        entity_type="ip_asset",
        entity_id=asset_id,
        after=asset.model_dump(mode="json", exclude={"current_valuation", "live_pledge_id"}),
    )
    return asset


async def _refuse(ctx: Ctx, asset_in: IpAssetCreate) -> NoReturn:
    why = await repository.refusal(
        ctx.db,
        holder_enterprise_id=asset_in.holder_enterprise_id,
        kind=asset_in.kind,
        number=asset_in.number,
    )
    if why["holder_cross_border"] is None:
        raise ValidationFailed(
            f"no enterprise {asset_in.holder_enterprise_id}",
            errors=[field_error(["body", "holder_enterprise_id"], "no such enterprise")],
        )
    if asset_in.licensor_name is not None and not why["holder_cross_border"]:
        raise ValidationFailed(
            "a licensor is named only for a cross-border enterprise's pledge",
            errors=[
                field_error(
                    ["body", "licensor_name"],
                    "the holder enterprise is not cross-border; omit licensor_name",
                )
            ],
        )
    if why["existing_id"] is not None:
        raise DuplicateIpAsset(
            f"{asset_in.kind} {asset_in.number} is already registered as IP asset "
            f"{why['existing_id']}",
            existing_ip_asset_id=str(why["existing_id"]),
        )
    # Assets are never deleted, so a number that blocked the insert is still there.
    raise ConcurrentUpdate("the IP asset could not be registered; retry")


async def get_ip_asset(ctx: Ctx, *, asset_id: UUID) -> IpAssetOut:
    row = await repository.get(ctx.db, asset_id)
    if row is None:
        raise NotFound("no such IP asset")
    return _asset(row)


def _number_candidates(kind: str | None, number: str, year: int) -> list[tuple[str, str]]:
    """The (kind, canonical number) pairs a searched number can mean in ``year``."""
    kinds = [kind] if kind is not None else list(IP_KINDS)
    candidates, reasons = [], []
    for candidate_kind in kinds:
        try:
            candidates.append(
                (candidate_kind, normalise_ip_number(candidate_kind, number, current_year=year))
            )
        except ValueError as exc:
            reasons.append(str(exc))
    if not candidates:
        msg = reasons[0] if kind is not None else "not a number any kind of IP asset can have"
        raise ValidationFailed(msg, errors=[field_error(["query", "number"], msg)])
    return candidates


async def list_ip_assets(
    ctx: Ctx,
    *,
    holder_enterprise_id: UUID | None,
    kind: str | None,
    number: str | None,
    cursor: str | None,
    limit: int,
) -> Page[IpAssetOut]:
    numbers = _number_candidates(kind, number, ctx.today.year) if number is not None else None
    rows = await repository.page(
        ctx.db,
        holder_enterprise_id=holder_enterprise_id,
        kind=kind,
        numbers=numbers,
        before=decode_cursor(cursor),
        limit=limit + 1,
    )
    return paged(rows, limit, _asset)


async def add_valuation(ctx: Ctx, *, asset_id: UUID, valuation_in: ValuationCreate) -> ValuationOut:
    if valuation_in.valuation_date > ctx.today:
        raise ValidationFailed(
            f"a valuation is dated at the latest today ({ctx.today.isoformat()})",
            errors=[field_error(["body", "valuation_date"], "may not be in the future")],
        )
    valuation_id = uuid7()
    row = await repository.insert_valuation(
        ctx.db,
        valuation_id=valuation_id,
        asset_id=asset_id,
        value=valuation_in.value,
        appraiser=valuation_in.appraiser,
        method=valuation_in.method,
        valuation_date=valuation_in.valuation_date,
        created_at=ctx.now,
        created_by=ctx.principal.key_id,
    )
    if row is None:
        raise NotFound("no such IP asset")
    valuation = ValuationOut.model_validate(dict(row))
    # Kept on the asset's trail, where its history is read.
    audit.record(
        ctx,
        action="ip_asset.valued",
        entity_type="ip_asset",
        entity_id=asset_id,
        after=valuation.model_dump(mode="json"),
    )
    return valuation


async def list_valuations(
    ctx: Ctx, *, asset_id: UUID, cursor: str | None, limit: int
) -> Page[ValuationOut]:
    rows = await repository.valuations_page(
        ctx.db, asset_id=asset_id, after=decode_cursor(cursor), limit=limit + 1
    )
    if rows is None:
        raise NotFound("no such IP asset")
    return paged(rows, limit, lambda r: ValuationOut.model_validate(dict(r)))
