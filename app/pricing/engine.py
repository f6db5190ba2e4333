"""The pricing engine (SPEC 3.4): from the facts of an application to its quote.

Pure functions over frozen dataclasses, no I/O, so that a quote is a function of its facts
alone: the same facts give the same quote whatever order the assets come in, and the facts
each component rests on are recorded with it (as JSON-ready values) for the audit and for the
officer reading the quote.

Rate = LPR + spread − discount; the discount is the sum of the components, capped at 20 bp.
Every component is reported, earning or not, so a caller sees why one earned nothing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any
from uuid import UUID

from app.models.enterprise import PRIORITY_INDUSTRIES

DISCOUNT_CAP_BP = 20
VALUATION_MAX_AGE_DAYS = 365
# (coverage ratio reached, bp), best first.
COVERAGE_TIERS: tuple[tuple[Decimal, int], ...] = ((Decimal("2.00"), 10), (Decimal("1.00"), 5))
INVENTION_PATENT_BP = 5
PRIORITY_INDUSTRY_BP = 5
DISTRICT_RISK_SHARING_BP = 5
COMPONENT_CODES = (
    "pledge_coverage",
    "invention_patent",
    "priority_industry",
    "district_risk_sharing",
)

# Why a pledged asset's valuation did not count towards coverage.
NO_VALUATION = "no_valuation"
VALUATION_STALE = "valuation_older_than_365_days"
VALUATION_AFTER_QUOTE = "valuation_after_quote_date"
PROTECTION_ENDS = "protection_does_not_outlast_maturity"


@dataclass(frozen=True, slots=True)
class PledgedAsset:
    id: UUID
    kind: str
    number: str
    valuation_value: Decimal | None
    valuation_date: date | None
    protection_expires_on: date | None


@dataclass(frozen=True, slots=True)
class QuoteFacts:
    quote_date: date
    amount: Decimal
    term_months: int
    maturity_date: date
    lpr_bp: int
    lpr_date: date
    spread_bp: int
    industry: str
    district_code: str
    # The active risk-compensation programme covering the enterprise, if any.
    risk_compensation_program_id: UUID | None
    assets: tuple[PledgedAsset, ...]


@dataclass(frozen=True, slots=True)
class Component:
    code: str
    bp: int
    facts: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "bp": self.bp, "facts": self.facts}


@dataclass(frozen=True, slots=True)
class Quote:
    lpr_bp: int
    lpr_date: date
    spread_bp: int
    components: tuple[Component, ...]
    discount_uncapped_bp: int
    discount_bp: int
    rate_bp: int


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, on the same day of month or, where the
    month is shorter, its last day (31 Jan + 1 month = 28 or 29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def maturity_date(quote_date: date, term_months: int) -> date:
    return add_months(quote_date, term_months)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _asset_ref(asset: PledgedAsset) -> dict[str, Any]:
    return {"ip_asset_id": str(asset.id), "kind": asset.kind, "number": asset.number}


def _valuation_refusals(asset: PledgedAsset, facts: QuoteFacts, oldest: date) -> list[str]:
    reasons = []
    if asset.valuation_value is None or asset.valuation_date is None:
        reasons.append(NO_VALUATION)
    elif asset.valuation_date < oldest:
        reasons.append(VALUATION_STALE)
    elif asset.valuation_date > facts.quote_date:
        reasons.append(VALUATION_AFTER_QUOTE)
    expiry = asset.protection_expires_on
    if expiry is not None and expiry <= facts.maturity_date:
        reasons.append(PROTECTION_ENDS)
    return reasons


def _coverage_ratio(total: Decimal, amount: Decimal) -> Decimal:
    # Truncated, so that a ratio shown as 2.0000 has really reached 2.
    with localcontext() as decimal_context:
        decimal_context.prec = 60
        return (total / amount).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)


def pledge_coverage(facts: QuoteFacts, assets: tuple[PledgedAsset, ...]) -> Component:
    oldest = facts.quote_date - timedelta(days=VALUATION_MAX_AGE_DAYS)
    total = Decimal("0.00")
    counted: list[dict[str, Any]] = []
    not_counted: list[dict[str, Any]] = []
    for asset in assets:
        valuation = {
            "value": None if asset.valuation_value is None else _money(asset.valuation_value),
            "valuation_date": None if asset.valuation_date is None else str(asset.valuation_date),
            "protection_expires_on": (
                None if asset.protection_expires_on is None else str(asset.protection_expires_on)
            ),
        }
        reasons = _valuation_refusals(asset, facts, oldest)
        if reasons or asset.valuation_value is None:
            not_counted.append({**_asset_ref(asset), **valuation, "reasons": reasons})
            continue
        total += asset.valuation_value
        protection = (
            "unknown_expiry_counted_as_outlasting"
            if asset.protection_expires_on is None
            else "outlasts_maturity"
        )
        counted.append({**_asset_ref(asset), **valuation, "protection": protection})
    bp = next((tier_bp for ratio, tier_bp in COVERAGE_TIERS if total >= ratio * facts.amount), 0)
    return Component(
        code="pledge_coverage",
        bp=bp,
        facts={
            "amount": _money(facts.amount),
            "counted_valuation_total": _money(total),
            "coverage_ratio": str(_coverage_ratio(total, facts.amount)),
            "tiers": [
                {"min_ratio": str(ratio), "bp": tier_bp} for ratio, tier_bp in COVERAGE_TIERS
            ],
            "valuations_from": str(oldest),
            "maturity_date": str(facts.maturity_date),
            "counted": counted,
            "not_counted": not_counted,
        },
    )


def invention_patent(assets: tuple[PledgedAsset, ...]) -> Component:
    patents = [_asset_ref(a) for a in assets if a.kind == "invention_patent"]
    return Component(
        code="invention_patent",
        bp=INVENTION_PATENT_BP if patents else 0,
        facts={"invention_patents": patents},
    )


def priority_industry(facts: QuoteFacts) -> Component:
    earns = facts.industry in PRIORITY_INDUSTRIES
    return Component(
        code="priority_industry",
        bp=PRIORITY_INDUSTRY_BP if earns else 0,
        facts={"industry": facts.industry, "priority_cluster": earns},
    )


def district_risk_sharing(facts: QuoteFacts) -> Component:
    program = facts.risk_compensation_program_id
    return Component(
        code="district_risk_sharing",
        bp=DISTRICT_RISK_SHARING_BP if program is not None else 0,
        facts={
            "district_code": facts.district_code,
            "risk_compensation_program_id": None if program is None else str(program),
        },
    )


def price(facts: QuoteFacts) -> Quote:
    """The quote for ``facts``: every component, the capped discount and the rate."""
    if facts.amount <= 0:
        raise ValueError("a quote needs an amount above zero")
    assets = tuple(sorted(facts.assets, key=lambda a: a.id))
    components = (
        pledge_coverage(facts, assets),
        invention_patent(assets),
        priority_industry(facts),
        district_risk_sharing(facts),
    )
    uncapped = sum(c.bp for c in components)
    discount = min(uncapped, DISCOUNT_CAP_BP)
    return Quote(
        lpr_bp=facts.lpr_bp,
        lpr_date=facts.lpr_date,
        spread_bp=facts.spread_bp,
        components=components,
        discount_uncapped_bp=uncapped,
        discount_bp=discount,
        rate_bp=facts.lpr_bp + facts.spread_bp - discount,
    )
