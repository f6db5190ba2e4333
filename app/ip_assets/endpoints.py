from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Response

from app.core.errors import NotFound, problems
from app.core.ids import PathId
from app.core.roles import BANK_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.ip_assets import service
from app.ip_assets.errors import DuplicateIpAsset
from app.ip_assets.schemas import IpAssetCreate, IpAssetOut, IpKind, ValuationCreate, ValuationOut

router = ApiRouter(prefix="/v1/ip-assets", tags=["ip assets"])


@router.post("", status_code=201, response_model=IpAssetOut, responses=problems(DuplicateIpAsset))
@access(Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER, Role.ADMIN, location=True)
async def create_ip_asset(body: IpAssetCreate, ctx: CtxDep, response: Response) -> IpAssetOut:
    """Register an IP asset once: the number is checked and answered in canonical form, and a
    second registration of the same kind and number answers 409 naming the asset."""
    asset = await service.create_ip_asset(ctx, asset_in=body)
    response.headers["Location"] = f"/v1/ip-assets/{asset.id}"
    return asset


@router.get("", response_model=Page[IpAssetOut], responses=problems())
@access(BANK_ROLES)
async def list_ip_assets(
    ctx: CtxDep,
    holder_enterprise_id: UUID | None = None,
    kind: Annotated[IpKind | None, Query()] = None,
    number: Annotated[Text | None, Query(max_length=64)] = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[IpAssetOut]:
    """IP assets, newest first, each with its current valuation and live pledge. `number` is
    normalised (for `kind`, or for every kind it can belong to) before matching."""
    return await service.list_ip_assets(
        ctx,
        holder_enterprise_id=holder_enterprise_id,
        kind=kind,
        number=number,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{asset_id}", response_model=IpAssetOut, responses=problems(NotFound))
@access(BANK_ROLES)
async def get_ip_asset(asset_id: PathId, ctx: CtxDep) -> IpAssetOut:
    """The asset with its current valuation and the id of its live pledge, if any."""
    return await service.get_ip_asset(ctx, asset_id=asset_id)


@router.post(
    "/{asset_id}/valuations",
    status_code=201,
    response_model=ValuationOut,
    responses=problems(NotFound),
)
@access(Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER, Role.CREDIT_OFFICER)
async def add_ip_asset_valuation(
    asset_id: PathId, body: ValuationCreate, ctx: CtxDep
) -> ValuationOut:
    """Record an appraisal. The newest (by valuation date) becomes the current valuation.
    Valuations are the credit side's to record (bank systems, relationship managers, credit
    officers): they feed pricing and the coverage investors read in a pool's tape."""
    return await service.add_valuation(ctx, asset_id=asset_id, valuation_in=body)


@router.get(
    "/{asset_id}/valuations", response_model=Page[ValuationOut], responses=problems(NotFound)
)
@access(BANK_ROLES)
async def list_ip_asset_valuations(
    asset_id: PathId,
    ctx: CtxDep,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[ValuationOut]:
    """Every valuation of the asset, newest (by valuation date) first."""
    return await service.list_valuations(ctx, asset_id=asset_id, cursor=cursor, limit=limit)
