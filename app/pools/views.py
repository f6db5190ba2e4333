"""How a pool is shown: its row and members' sums as the API's ``PoolOut``, and as the
payload of its events."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from app.pools.schemas import Limits, PoolOut, PoolStats

_PLACES = Decimal("0.0001")


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator / denominator).quantize(_PLACES, rounding=ROUND_HALF_UP)


def stats(row: asyncpg.Record) -> PoolStats:
    balance = row.get("balance") or Decimal("0.00")  # a pool just created has no sums
    if not balance:
        return PoolStats(
            loan_count=0,
            obligor_count=0,
            outstanding_principal=Decimal("0.00"),
            wa_rate_bp=None,
            wa_remaining_months=None,
            wa_coverage=None,
            max_obligor_share=None,
            industry_shares={},
            district_shares={},
        )
    return PoolStats(
        loan_count=row["loan_count"],
        obligor_count=row["obligor_count"],
        outstanding_principal=balance,
        wa_rate_bp=_ratio(row["rate_weight"], balance),
        wa_remaining_months=_ratio(row["term_weight"], balance),
        wa_coverage=_ratio(row["pledged_value"], balance),
        max_obligor_share=_ratio(row["max_obligor"], balance),
        industry_shares={
            k: _ratio(Decimal(v), balance) for k, v in sorted(row["industries"].items())
        },
        district_shares={
            k: _ratio(Decimal(v), balance) for k, v in sorted(row["districts"].items())
        },
    )


def pool_out(row: asyncpg.Record) -> PoolOut:
    return PoolOut(
        id=row["id"],
        name=row["name"],
        state=row["state"],
        cut_off_date=row["cut_off_date"],
        target_balance=row["target_balance"],
        criteria=row["criteria"],
        limits=Limits(
            max_obligor_share=row["max_obligor_share"],
            max_industry_share=row["max_industry_share"],
            max_district_share=row["max_district_share"],
        ),
        stats=stats(row),
        spv_name=row["spv_name"],
        transfer_date=row["transfer_date"],
        locked_at=row["locked_at"],
        transferred_at=row["transferred_at"],
        last_selection=row["last_selection"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def event(out: PoolOut) -> dict[str, Any]:
    return {
        "pool_id": out.id,
        "name": out.name,
        "state": out.state,
        "cut_off_date": out.cut_off_date,
        "transfer_date": out.transfer_date,
        "loan_count": out.stats.loan_count,
        "outstanding_principal": out.stats.outstanding_principal,
    }
