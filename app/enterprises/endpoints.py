from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from app.core.errors import NotFound, problems
from app.core.ids import PathId
from app.core.roles import BANK_ROLES, Role
from app.core.routing import ApiRouter, CtxDep, access
from app.core.schemas import Limit, Page
from app.core.types import Text
from app.enterprises import service
from app.enterprises.errors import DuplicateCreditCode
from app.enterprises.schemas import EnterpriseCreate, EnterpriseOut
from app.models.enterprise import Industry

router = ApiRouter(prefix="/v1/enterprises", tags=["enterprises"])


@router.post(
    "", status_code=201, response_model=EnterpriseOut, responses=problems(DuplicateCreditCode)
)
@access(Role.BANK_SYSTEM, Role.RELATIONSHIP_MANAGER, Role.ADMIN, location=True)
async def create_enterprise(
    body: EnterpriseCreate, ctx: CtxDep, response: Response
) -> EnterpriseOut:
    """Register a borrower. One enterprise per credit code: a second registration of the same
    code answers 409 naming the enterprise that has it."""
    enterprise = await service.create_enterprise(ctx, enterprise_in=body)
    response.headers["Location"] = f"/v1/enterprises/{enterprise.id}"
    return enterprise


@router.get("", response_model=Page[EnterpriseOut], responses=problems())
@access(BANK_ROLES)
async def list_enterprises(
    ctx: CtxDep,
    district_code: Annotated[Text | None, Query(pattern=r"^[0-9]{6}$")] = None,
    industry: Annotated[Industry | None, Query()] = None,
    credit_code: Annotated[Text | None, Query(max_length=64)] = None,
    cursor: Text | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[EnterpriseOut]:
    """Enterprises, newest first. `credit_code` is normalised before matching."""
    return await service.list_enterprises(
        ctx,
        district_code=district_code,
        industry=industry,
        credit_code=credit_code,
        cursor=cursor,
        limit=limit,
    )


@router.get("/{enterprise_id}", response_model=EnterpriseOut, responses=problems(NotFound))
@access(BANK_ROLES)
async def get_enterprise(enterprise_id: PathId, ctx: CtxDep) -> EnterpriseOut:
    return await service.get_enterprise(ctx, enterprise_id=enterprise_id)
