"""The projection core against the naive per-loan loop (tests/pools/projection/naive.py) over
random small pools, scenarios and structures; its invariants; and the break-even search's
monotonicity and bounds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pools.projection import engine
from app.pools.projection.model import PoolSchedule, Scenario, Structure, Tranche
from tests.pools.projection import naive

D = Decimal
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Pool:
    cut_off: np.ndarray
    principal: np.ndarray
    interest: np.ndarray

    @property
    def schedule(self) -> PoolSchedule:
        return engine.aggregate(self.cut_off, self.principal, self.interest)


@st.composite
def pools(draw: st.DrawFn) -> Pool:
    """1–6 loans over 1–24 months: each a balance split into scheduled principal (some months
    none, as interest-only months), interest about a rate on the scheduled balance."""
    months = draw(st.integers(1, 24))
    loans = draw(st.integers(1, 6))
    principal = np.zeros((loans, months), dtype=np.int64)
    interest = np.zeros((loans, months), dtype=np.int64)
    for loan in range(loans):
        term = draw(st.integers(1, months))
        parts = draw(st.lists(st.integers(0, 10**9), min_size=term, max_size=term))
        if not any(parts):
            parts[-1] = draw(st.integers(1, 10**9))
        principal[loan, :term] = parts
        rate = draw(st.integers(0, 200)) / 12 / 10_000
        left = sum(parts)
        for t in range(term):
            interest[loan, t] = round(left * rate)
            left -= parts[t]
    return Pool(principal.sum(axis=1), principal, interest)


rates = st.decimals(min_value=0, max_value=1, places=4)
scenarios = st.builds(
    Scenario,
    cpr=st.one_of(st.just(D(0)), rates),
    cdr=st.one_of(st.just(D(0)), rates),
    recovery_rate=rates,
    recovery_lag_months=st.integers(0, 12),
)


@st.composite
def structures(draw: st.DrawFn) -> Structure:
    count = draw(st.integers(1, 4))
    cuts = sorted(
        draw(st.lists(st.integers(1, 9_999), min_size=count - 1, max_size=count - 1, unique=True))
    )
    bounds = [0, *cuts, 10_000]
    tranches = tuple(
        Tranche(f"T{j}", D(bounds[j + 1] - bounds[j]) / 10_000, draw(st.integers(0, 1_500)))
        for j in range(count)
    )
    return Structure(tranches=tranches, fees_bp=draw(st.integers(0, 200)))


def _naive(pool: Pool, scenario: Scenario, structure: Structure):
    months = naive.collateral(
        pool.cut_off.astype(float).tolist(),
        pool.principal.astype(float).tolist(),
        pool.interest.astype(float).tolist(),
        cpr=float(scenario.cpr),
        cdr=float(scenario.cdr),
        recovery_rate=float(scenario.recovery_rate),
        lag=scenario.recovery_lag_months,
    )
    tranches = [naive.NaiveTranche(t.name, float(t.share), t.coupon_bp) for t in structure.tranches]
    return months, naive.waterfall(months, tranches, fees_bp=structure.fees_bp)


@SETTINGS
@given(pools(), scenarios, structures())
def test_agrees_with_the_naive_loop(pool: Pool, scenario: Scenario, structure: Structure) -> None:
    out = engine.project(pool.schedule, scenario, structure)
    months, tranches = _naive(pool, scenario, structure)
    flows = out.collateral
    # The engine drops trailing months of nothing; each month's flow is within a fen or two
    # of the unrounded loop's (each month is rounded), and each total within a fen or two a
    # month.
    horizon = flows.months
    # (Months after it hold only recoveries that round to nothing.)
    assert all(m.recoveries < 1 and m.beginning == 0 for m in months[horizon:])
    for name in (
        "defaults",
        "scheduled_principal",
        "prepayments",
        "interest",
        "recoveries",
        "beginning",
    ):
        ours = getattr(flows, name).astype(float)
        theirs = np.array([getattr(m, name) for m in months[:horizon]])
        assert np.abs(ours - theirs).max() <= 2.5, name
        if name != "beginning":  # a balance, not a flow: its months do not add up
            assert abs(ours.sum() - theirs.sum()) <= 1.5 * horizon + 2, name
    tolerance = 1.5 * horizon * (len(tranches) + 2) + 2
    for ours, theirs in zip(out.tranches, tranches, strict=True):
        assert abs(sum(ours.principal_paid) - sum(theirs.principal)) <= tolerance
        assert abs(sum(ours.interest_paid) - sum(theirs.interest)) <= tolerance
        assert abs(sum(ours.writedown) - sum(theirs.writedown)) <= tolerance
    assert abs(sum(out.fees) - sum(m.fees for m in months)) <= tolerance


@SETTINGS
@given(pools(), scenarios, structures())
def test_every_fen_is_accounted_for(pool: Pool, scenario: Scenario, structure: Structure) -> None:
    out = engine.project(pool.schedule, scenario, structure)
    flows = out.collateral
    balance = pool.schedule.balance
    # The pool's balance runs down by exactly its defaults, principal and prepayments.
    assert (
        flows.beginning - flows.defaults - flows.scheduled_principal - flows.prepayments
        == flows.ending
    ).all()
    assert (flows.ending[:-1] == flows.beginning[1:]).all()
    assert flows.ending[-1] == 0 and (flows.ending >= 0).all()
    for name in ("defaults", "scheduled_principal", "prepayments", "interest", "recoveries"):
        assert (getattr(flows, name) >= 0).all(), name
    assert int(flows.defaults.sum()) == int(flows.recoveries.sum() + flows.losses.sum())
    # The tranches are repaid or written down to the last fen, and never paid more than owed.
    assert sum(t.original_balance for t in out.tranches) == balance
    for t in out.tranches:
        assert sum(t.principal_paid) + sum(t.writedown) == t.original_balance
        assert t.ending_balance[-1] == 0
        assert min(t.writedown) >= 0 and min(t.shortfall) >= 0
    # Interest goes to fees, coupons or the residual holder; principal only to the tranches.
    coupons = sum(sum(t.interest_paid) for t in out.tranches)
    cash = int(
        flows.interest.sum()
        + flows.scheduled_principal.sum()
        + flows.prepayments.sum()
        + flows.recoveries.sum()
    )
    principal = sum(sum(t.principal_paid) for t in out.tranches)
    assert sum(out.fees) + coupons + sum(out.released) + principal == cash
    assert principal == int(
        flows.scheduled_principal.sum() + flows.prepayments.sum() + flows.recoveries.sum()
    )
    # Losses reach a tranche only once every tranche junior to it is gone.
    for j, t in enumerate(out.tranches[:-1]):
        for month, down in enumerate(t.writedown):
            if down:
                assert all(lower.ending_balance[month] == 0 for lower in out.tranches[j + 1 :])


@SETTINGS
@given(pools(), structures(), st.sampled_from([0, 1, 2]))
def test_no_prepayments_or_defaults_collect_the_schedule(
    pool: Pool, structure: Structure, lag: int
) -> None:
    scenario = Scenario(cpr=D(0), cdr=D(0), recovery_rate=D("0.5"), recovery_lag_months=lag)
    flows = engine.collateral(pool.schedule, scenario)
    assert flows.scheduled_principal.tolist() == pool.principal.sum(axis=0).tolist()
    assert flows.interest.tolist() == pool.interest.sum(axis=0).tolist()
    out = engine.project(pool.schedule, scenario, structure)
    assert all(sum(t.writedown) == 0 for t in out.tranches)


subordinated = structures().filter(lambda s: len(s.tranches) > 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), scenarios, subordinated, st.lists(st.integers(0, 10_000), min_size=2, max_size=8))
def test_senior_loss_never_falls_as_defaults_rise(
    pool: Pool, scenario: Scenario, structure: Structure, steps: list[int]
) -> None:
    losses = [
        engine.senior_loss(pool.schedule, _at(scenario, step), structure) for step in sorted(steps)
    ]
    assert losses == sorted(losses)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), scenarios, subordinated)
def test_breakeven_is_the_first_step_that_loses(
    pool: Pool, scenario: Scenario, structure: Structure
) -> None:
    found = engine.breakeven_cdr(pool.schedule, scenario, structure)
    if found is None:
        assert engine.senior_loss(pool.schedule, _at(scenario, 10_000), structure) == 0
        return
    step = int(found * 10_000)
    assert engine.senior_loss(pool.schedule, _at(scenario, step), structure) > 0
    assert engine.senior_loss(pool.schedule, _at(scenario, step - 1), structure) == 0


def _at(scenario: Scenario, step: int) -> Scenario:
    return Scenario(
        cpr=scenario.cpr,
        cdr=D(step) / 10_000,
        recovery_rate=scenario.recovery_rate,
        recovery_lag_months=scenario.recovery_lag_months,
    )


@SETTINGS
@given(pools(), scenarios)
def test_the_pool_is_the_sum_of_its_loans(pool: Pool, scenario: Scenario) -> None:
    """Projecting the aggregated schedule is projecting each loan and adding up: every flow
    within a fen a loan a month (each loan's projection is rounded on its own)."""
    whole = engine.collateral(pool.schedule, scenario)
    alone = [
        engine.collateral(
            engine.aggregate(
                pool.cut_off[k : k + 1], pool.principal[k : k + 1], pool.interest[k : k + 1]
            ),
            scenario,
        )
        for k in range(len(pool.cut_off))
    ]
    loans = len(alone)
    for name in (
        "defaults",
        "scheduled_principal",
        "prepayments",
        "interest",
        "recoveries",
        "ending",
    ):
        summed = np.zeros(whole.months, dtype=np.int64)
        for one in alone:
            flow = getattr(one, name)
            summed[: len(flow)] += flow
        assert np.abs(summed - getattr(whole, name)).max() <= 1.5 * loans, name
