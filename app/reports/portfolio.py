"""The portfolio by risk class on a date (SPEC.md 3.6): per class and in total, the loans
outstanding and their outstanding principal, and the NPL ratio.

Each loan is classed by the servicing engine exactly as its own view shows it ``as_of`` that
date (``app.loans.servicing.standing``): from its stored schedule when no repayment is dated
after the date, else from its repayments up to the date, replayed. A loan counts while it has
principal outstanding on the date (disbursed by then, not paid off). The NPL ratio is the
substandard, doubtful and loss balances over all balances, half-up to four decimals ("0.0000"
with no loans). A relationship manager sees their own loans, a district bureau its district's.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.core.context import Ctx
from app.core.errors import ValidationFailed, field_error
from app.core.roles import Role
from app.loans import rows
from app.loans import service as loans_service
from app.loans.classification import CLASSES, NON_PERFORMING, Classification
from app.loans.domain import state_as_of
from app.loans.ledger import to_money
from app.loans.servicing import standing
from app.models.loan import LoanState
from app.reports import portfolio_repository as repository
from app.reports.schemas import PortfolioClass, PortfolioReport

_RATIO = Decimal("0.0001")


def _scope(ctx: Ctx) -> tuple[str, list[Any]]:
    principal = ctx.principal
    if principal.role is Role.RELATIONSHIP_MANAGER:
        return "AND l.relationship_manager_id = $2", [principal.subject]
    if principal.role is Role.DISTRICT_BUREAU:
        return "AND l.district_code = $2", [principal.subject]
    return "", []


async def portfolio_report(ctx: Ctx, *, as_of: date | None) -> PortfolioReport:
    on = as_of or ctx.today
    if on > ctx.today:
        raise ValidationFailed(
            "as_of may not be in the future",
            errors=[field_error(["query", "as_of"], "in the future")],
        )
    scope, args = _scope(ctx)
    loans = await repository.loans_on(ctx.db, on=on, scope=scope, args=args)
    schedules = await loans_service.schedules_as_of(ctx, loans, on)
    uplift = ctx.settings.penalty_uplift
    count: dict[Classification, int] = dict.fromkeys(CLASSES, 0)
    balance: dict[Classification, int] = dict.fromkeys(CLASSES, 0)
    for row in loans:
        schedule = schedules[row["id"]]
        defaulted = state_as_of(row, on) == LoanState.DEFAULTED
        now = standing(schedule, on, rows.terms(row, uplift), defaulted=defaulted)
        if now.outstanding_principal <= 0:
            continue
        count[now.classification] += 1
        balance[now.classification] += now.outstanding_principal
    total = sum(balance.values())
    npl = sum(balance[c] for c in NON_PERFORMING)
    ratio = (Decimal(npl) / total).quantize(_RATIO, ROUND_HALF_UP) if total else Decimal("0")
    return PortfolioReport(
        as_of=on,
        classes=[
            PortfolioClass(
                classification=c.value,
                loan_count=count[c],
                outstanding_principal=to_money(balance[c]),
            )
            for c in CLASSES
        ],
        total=PortfolioClass(
            classification=None,
            loan_count=sum(count.values()),
            outstanding_principal=to_money(total),
        ),
        npl_ratio=f"{ratio:.4f}",
    )
