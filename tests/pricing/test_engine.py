"""The pricing engine on its own: hand-computed examples of every component and of the cap,
and the properties a quote must always have."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models.enterprise import INDUSTRIES
from app.models.ip_asset import IP_KINDS
from app.pricing import engine
from app.pricing.engine import PledgedAsset, QuoteFacts

QUOTE_DATE = date(2026, 11, 23)
MATURITY = date(2027, 11, 23)
PROGRAM = UUID("0190d4a2-0000-7000-8000-000000000001")


def asset(
    n: int,
    *,
    kind: str = "utility_model",
    value: str | None = "1000000.00",
    valued_on: date | None = QUOTE_DATE,
    expires: date | None = date(2040, 1, 1),
) -> PledgedAsset:
    return PledgedAsset(
        id=UUID(int=n),
        kind=kind,
        number=f"2017106018{n:02d}",
        valuation_value=None if value is None else Decimal(value),
        valuation_date=valued_on if value is not None else None,
        protection_expires_on=expires,
    )


def facts(
    *assets: PledgedAsset,
    amount: str = "1000000.00",
    industry: str = "other",
    program: UUID | None = None,
    lpr_bp: int = 300,
    spread_bp: int = 100,
) -> QuoteFacts:
    return QuoteFacts(
        quote_date=QUOTE_DATE,
        amount=Decimal(amount),
        term_months=12,
        maturity_date=MATURITY,
        lpr_bp=lpr_bp,
        lpr_date=date(2026, 11, 20),
        spread_bp=spread_bp,
        industry=industry,
        district_code="440307",
        risk_compensation_program_id=program,
        assets=assets,
    )


def component(quote: engine.Quote, code: str) -> engine.Component:
    [found] = [c for c in quote.components if c.code == code]
    return found


class TestPledgeCoverage:
    @pytest.mark.parametrize(
        "values,bp,ratio",
        [
            (["999999.99"], 0, "0.9999"),
            (["1000000.00"], 5, "1.0000"),
            (["600000.00", "600000.00"], 5, "1.2000"),
            (["1999999.99"], 5, "1.9999"),
            (["2000000.00"], 10, "2.0000"),
            (["1500000.00", "500000.00"], 10, "2.0000"),
        ],
    )
    def test_tiers_at_their_edges(self, values, bp, ratio):
        quote = engine.price(facts(*[asset(i, value=v) for i, v in enumerate(values, 1)]))
        coverage = component(quote, "pledge_coverage")
        assert coverage.bp == bp
        assert coverage.facts["coverage_ratio"] == ratio
        assert coverage.facts["amount"] == "1000000.00"

    def test_a_valuation_365_days_old_counts_and_366_does_not(self):
        fresh = asset(1, value="1200000.00", valued_on=QUOTE_DATE - timedelta(days=365))
        stale = asset(2, value="5000000.00", valued_on=QUOTE_DATE - timedelta(days=366))
        coverage = component(engine.price(facts(fresh, stale)), "pledge_coverage")
        assert coverage.bp == 5
        assert coverage.facts["counted_valuation_total"] == "1200000.00"
        assert coverage.facts["valuations_from"] == "2025-11-23"
        assert [a["ip_asset_id"] for a in coverage.facts["counted"]] == [str(UUID(int=1))]
        [refused] = coverage.facts["not_counted"]
        assert refused["ip_asset_id"] == str(UUID(int=2))
        assert refused["reasons"] == ["valuation_older_than_365_days"]
        assert refused["value"] == "5000000.00" and refused["valuation_date"] == "2025-11-22"

    def test_protection_must_outlast_maturity(self):
        ends_at_maturity = asset(1, value="3000000.00", expires=MATURITY)
        ends_after = asset(2, value="1000000.00", expires=MATURITY + timedelta(days=1))
        coverage = component(engine.price(facts(ends_at_maturity, ends_after)), "pledge_coverage")
        assert coverage.bp == 5
        assert coverage.facts["maturity_date"] == "2027-11-23"
        [refused] = coverage.facts["not_counted"]
        assert refused["reasons"] == ["protection_does_not_outlast_maturity"]
        assert refused["protection_expires_on"] == "2027-11-23"
        [counted] = coverage.facts["counted"]
        assert counted["protection"] == "outlasts_maturity"

    def test_unknown_expiry_counts_and_says_so(self):
        coverage = component(
            engine.price(facts(asset(1, value="2000000.00", expires=None))), "pledge_coverage"
        )
        assert coverage.bp == 10
        [counted] = coverage.facts["counted"]
        assert counted["protection_expires_on"] is None
        assert counted["protection"] == "unknown_expiry_counted_as_outlasting"

    def test_unvalued_asset_is_listed_with_every_reason(self):
        unvalued = asset(1, value=None, expires=date(2027, 1, 1))
        coverage = component(engine.price(facts(unvalued)), "pledge_coverage")
        assert coverage.bp == 0
        assert coverage.facts["counted_valuation_total"] == "0.00"
        [refused] = coverage.facts["not_counted"]
        assert refused["reasons"] == ["no_valuation", "protection_does_not_outlast_maturity"]

    def test_valuation_dated_after_the_quote_date_is_not_known_on_it(self):
        later = asset(1, value="9000000.00", valued_on=QUOTE_DATE + timedelta(days=1))
        coverage = component(engine.price(facts(later)), "pledge_coverage")
        assert coverage.bp == 0
        assert coverage.facts["not_counted"][0]["reasons"] == ["valuation_after_quote_date"]


class TestOtherComponents:
    def test_invention_patent_earns_5_whatever_its_valuation(self):
        quote = engine.price(facts(asset(1), asset(2, kind="invention_patent", value=None)))
        patent = component(quote, "invention_patent")
        assert patent.bp == 5
        assert [p["ip_asset_id"] for p in patent.facts["invention_patents"]] == [str(UUID(int=2))]

    @pytest.mark.parametrize("kind", [k for k in IP_KINDS if k != "invention_patent"])
    def test_other_kinds_earn_nothing(self, kind):
        patent = component(engine.price(facts(asset(1, kind=kind))), "invention_patent")
        assert patent.bp == 0 and patent.facts == {"invention_patents": []}

    @pytest.mark.parametrize("industry", INDUSTRIES)
    def test_priority_industry(self, industry):
        earned = component(engine.price(facts(industry=industry)), "priority_industry")
        assert earned.bp == (0 if industry == "other" else 5)
        assert earned.facts == {"industry": industry, "priority_cluster": industry != "other"}

    def test_priority_industries_are_the_six_clusters(self):
        # SPEC 3.1: the six Longgang clusters, written out; every other industry is "other".
        assert {
            "artificial_intelligence",
            "low_altitude_economy",
            "intelligent_driving",
            "electronic_information",
            "biomedicine",
            "low_carbon",
        } == engine.PRIORITY_INDUSTRIES

    def test_district_risk_sharing(self):
        with_program = component(engine.price(facts(program=PROGRAM)), "district_risk_sharing")
        assert with_program.bp == 5
        assert with_program.facts == {
            "district_code": "440307",
            "risk_compensation_program_id": str(PROGRAM),
        }
        without = component(engine.price(facts()), "district_risk_sharing")
        assert without.bp == 0 and without.facts["risk_compensation_program_id"] is None


class TestDiscountAndRate:
    def test_nothing_earned_prices_at_lpr_plus_spread(self):
        quote = engine.price(facts())
        assert [c.code for c in quote.components] == list(engine.COMPONENT_CODES)
        assert [c.bp for c in quote.components] == [0, 0, 0, 0]
        assert (quote.discount_uncapped_bp, quote.discount_bp, quote.rate_bp) == (0, 0, 400)

    def test_three_components_sum_below_the_cap(self):
        quote = engine.price(
            facts(asset(1, kind="invention_patent"), industry="low_carbon", program=PROGRAM)
        )
        assert [c.bp for c in quote.components] == [5, 5, 5, 5]
        assert (quote.discount_uncapped_bp, quote.discount_bp, quote.rate_bp) == (20, 20, 380)

    def test_all_four_at_their_best_are_capped_at_20(self):
        quote = engine.price(
            facts(
                asset(1, kind="invention_patent", value="2500000.00"),
                industry="artificial_intelligence",
                program=PROGRAM,
                lpr_bp=310,
                spread_bp=85,
            )
        )
        assert [c.bp for c in quote.components] == [10, 5, 5, 5]
        assert quote.discount_uncapped_bp == 25
        assert quote.discount_bp == 20
        assert quote.rate_bp == 310 + 85 - 20
        assert (quote.lpr_bp, quote.lpr_date, quote.spread_bp) == (310, date(2026, 11, 20), 85)

    def test_an_amount_of_zero_cannot_be_priced(self):
        with pytest.raises(ValueError):
            engine.price(facts(amount="0.00"))


class TestMaturity:
    @pytest.mark.parametrize(
        "start,months,expected",
        [
            (date(2026, 11, 23), 12, date(2027, 11, 23)),
            (date(2026, 1, 31), 1, date(2026, 2, 28)),
            (date(2027, 12, 31), 2, date(2028, 2, 29)),
            (date(2026, 8, 31), 1, date(2026, 9, 30)),
            (date(2026, 11, 30), 60, date(2031, 11, 30)),
            (date(2026, 12, 15), 1, date(2027, 1, 15)),
        ],
    )
    def test_same_day_of_month_or_the_month_end(self, start, months, expected):
        assert engine.maturity_date(start, months) == expected


# --- properties -------------------------------------------------------------------------------

money = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("100000000.00"), places=2, allow_nan=False
)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def pledged_assets(draw, n: int) -> PledgedAsset:
    valued = draw(st.booleans())
    return PledgedAsset(
        id=UUID(int=n),
        kind=draw(st.sampled_from(IP_KINDS)),
        number=f"A{n}",
        valuation_value=draw(money) if valued else None,
        valuation_date=draw(dates) if valued else None,
        protection_expires_on=draw(st.none() | dates),
    )


@st.composite
def asset_lists(draw, max_size: int = 6) -> tuple[PledgedAsset, ...]:
    ids = draw(st.sets(st.integers(min_value=1, max_value=10_000), max_size=max_size))
    return tuple(draw(pledged_assets(n)) for n in sorted(ids))


@st.composite
def quote_facts(draw) -> QuoteFacts:
    quote_date = draw(dates)
    term = draw(st.integers(min_value=1, max_value=60))
    return QuoteFacts(
        quote_date=quote_date,
        amount=draw(money),
        term_months=term,
        maturity_date=engine.maturity_date(quote_date, term),
        lpr_bp=draw(st.integers(min_value=1, max_value=9999)),
        lpr_date=quote_date - timedelta(days=draw(st.integers(0, 60))),
        spread_bp=draw(st.integers(min_value=0, max_value=10_000)),
        industry=draw(st.sampled_from(INDUSTRIES)),
        district_code="440307",
        risk_compensation_program_id=draw(st.none() | st.just(PROGRAM)),
        assets=draw(asset_lists()),
    )


class TestProperties:
    @given(quote_facts())
    def test_discount_is_between_0_and_20_and_the_rate_adds_up(self, f):
        quote = engine.price(f)
        assert 0 <= quote.discount_bp <= engine.DISCOUNT_CAP_BP
        assert quote.discount_bp == min(quote.discount_uncapped_bp, engine.DISCOUNT_CAP_BP)
        assert quote.discount_uncapped_bp == sum(c.bp for c in quote.components)
        assert quote.rate_bp == f.lpr_bp + f.spread_bp - quote.discount_bp
        assert [c.code for c in quote.components] == list(engine.COMPONENT_CODES)

    @given(quote_facts(), st.data())
    def test_adding_a_pledge_never_raises_the_rate(self, f, data):
        new_id = data.draw(
            st.integers(min_value=10_001, max_value=20_000), label="id of the added asset"
        )
        added = data.draw(pledged_assets(new_id), label="added asset")
        more = dataclasses.replace(f, assets=(*f.assets, added))
        assert engine.price(more).rate_bp <= engine.price(f).rate_bp
        assert engine.price(more).discount_uncapped_bp >= engine.price(f).discount_uncapped_bp

    @given(quote_facts(), st.randoms(use_true_random=False))
    def test_a_quote_is_a_function_of_its_facts_in_any_order(self, f, random):
        shuffled = list(f.assets)
        random.shuffle(shuffled)
        same = dataclasses.replace(f, assets=tuple(shuffled))
        assert engine.price(same) == engine.price(f)
        assert engine.price(f) == engine.price(f)

    @given(quote_facts())
    def test_every_asset_is_accounted_for_once(self, f):
        coverage = engine.price(f).components[0]
        listed = [a["ip_asset_id"] for a in coverage.facts["counted"]] + [
            a["ip_asset_id"] for a in coverage.facts["not_counted"]
        ]
        assert sorted(listed) == sorted(str(a.id) for a in f.assets)
        total = sum((Decimal(a["value"]) for a in coverage.facts["counted"]), Decimal("0.00"))
        assert Decimal(coverage.facts["counted_valuation_total"]) == total

    @given(st.dates(max_value=date(9000, 1, 1)), st.integers(min_value=1, max_value=60))
    def test_maturity_is_term_months_later_never_past_the_month_end(self, start, months):
        end = engine.maturity_date(start, months)
        assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
        assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)
