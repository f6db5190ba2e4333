"""The pool's cash flows under a scenario (SPEC 3.9a), vectorised over months.

Per month t, with SMM = 1 − (1 − CPR)^(1/12) and MDR = 1 − (1 − CDR)^(1/12):

- defaults are MDR × the beginning balance, and stop paying;
- the surviving loans pay their own scheduled principal and interest, scaled by the share of
  their balance that has survived the defaults and prepayments so far;
- prepayments are SMM × what remains; recoveries are defaults × the recovery rate, the lag
  later.

Defaults and prepayments are the same share of every loan's balance, so the surviving share
after month t is one number for the whole pool, q^t with q = (1 − MDR)(1 − SMM). Every loan's
flows are its scheduled amounts times that share, and the pool's flows are therefore the pool's
aggregated scheduled amounts times it: the projection works on one vector of scheduled
principal and one of interest, whatever the pool's size (``aggregate`` builds them once).

Amounts are exact integers of fen on the way in. The pool's ending balance and the running
total of interest are computed in 40-digit decimals and rounded half-up to the fen each month
(so that an amount exactly on a half fen rounds up); the month's fall in balance, an integer, is
shared among defaults, scheduled principal and prepayments by largest remainder, so
that the rounded flows explain the rounded balances exactly and the balance reaches zero
exactly when the schedule does (the causes' shares are float64). Interest is rounded through its
running total. With CPR = CDR = 0 every factor is exactly 1 and every flow is the schedule's own
integer, so the collections are the scheduled instalments to the fen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import numpy.typing as npt

from app.pools.projection import waterfall
from app.pools.projection.model import (
    Collateral,
    Fen,
    PoolSchedule,
    Projection,
    Scenario,
    Structure,
)

Floats = npt.NDArray[np.float64]
# Break-even CDRs are searched on this grid: 0.0001 steps.
CDR_STEPS = 10_000
_SNAP = Decimal("1e-20")


def aggregate(cut_off_fen: Fen, principal_fen: Fen, interest_fen: Fen) -> PoolSchedule:
    """The pool's schedule from its loans' (loans × months arrays of fen, month 1 first)."""
    return PoolSchedule(
        balance=int(cut_off_fen.sum()),
        principal=principal_fen.sum(axis=0, dtype=np.int64),
        interest=interest_fen.sum(axis=0, dtype=np.int64),
    )


def monthly_rate(annual: float) -> float:
    """1 − (1 − annual)^(1/12): the monthly rate that compounds to the annual one."""
    return 1.0 - float((1.0 - annual) ** (1.0 / 12.0))


def _half_up(amounts: Fen, numerator: int, denominator: int) -> Fen:
    """amounts × numerator / denominator, half-up to the fen, exactly (amounts ≥ 0)."""
    return (amounts * (2 * numerator) + denominator) // (2 * denominator)


def _split(reduction: Fen, parts: Floats) -> Fen:
    """Each month's integer fall in balance shared among its three causes (rows of ``parts``:
    defaults, scheduled principal, prepayments) by largest remainder: each gets its amount's
    whole fen, and the fen left go to the largest fractions. A cause that is zero stays zero,
    every share is within a fen of its exact amount, and the shares add up to the fall."""
    floors = np.floor(parts)
    whole = floors.astype(np.int64)
    units = reduction - whole.sum(axis=0)
    order = np.argsort(floors - parts, axis=0, kind="stable")  # largest fraction first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(3)[:, None].repeat(parts.shape[1], axis=1), 0)
    out: Fen = whole + (ranks < units).astype(np.int64)
    # Float error may leave the sum a fen off where a fraction sat on the boundary: the
    # largest cause takes the difference.
    off = reduction - out.sum(axis=0)
    if off.any():
        columns = np.nonzero(off)[0]
        out[np.argmax(parts[:, columns], axis=0), columns] += off[columns]
    return out


def _half_up_exact(value: Decimal) -> int:
    """An exact amount of fen, half-up. Taken to 1e-20 fen first: the 40 digits carry a last-digit
    error from the twelfth roots (0.9^(1/12) to the 12th is 0.8999…9, not 0.9), and an amount
    that close to a half fen is the half fen."""
    return int(value.quantize(_SNAP, ROUND_HALF_UP).to_integral_value(ROUND_HALF_UP))


def _rounded_exactly(schedule: PoolSchedule, scenario: Scenario, scheduled: Fen) -> tuple[Fen, Fen]:
    """The ending balances and the interest collected, half-up to the fen from their exact
    values. Computed in 40-digit decimals, not float64: the survival factor is often exactly a
    round number (after 12 months it is (1 − CPR)(1 − CDR); after 6, with CPR = CDR, 1 − CPR),
    the amounts then fall exactly on half fen, and a float's last bit would round them down.
    A few hundred multiplications: nothing beside the rest."""
    with localcontext() as ctx:
        ctx.prec = 40
        twelfth = Decimal(1) / 12
        keep_d = (1 - scenario.cdr) ** twelfth  # 1 − MDR
        keep_p = (1 - scenario.cpr) ** twelfth  # 1 − SMM
        left = Decimal(1)  # of each loan's scheduled balance, at the month's start
        cumulative = Decimal(0)
        ending: list[int] = []
        collected: list[int] = []
        for after, due in zip(scheduled.tolist(), schedule.interest.tolist(), strict=True):
            paying = left * keep_d
            left = paying * keep_p
            ending.append(_half_up_exact(after * left))
            cumulative += due * paying
            collected.append(_half_up_exact(cumulative))
    totals = np.array(collected, dtype=np.int64)
    return np.array(ending, dtype=np.int64), np.diff(totals, prepend=np.int64(0))


def collateral(schedule: PoolSchedule, scenario: Scenario) -> Collateral:
    smm = monthly_rate(float(scenario.cpr))
    mdr = monthly_rate(float(scenario.cdr))
    n = schedule.months
    lag = scenario.recovery_lag_months
    scheduled = schedule.balance - np.cumsum(schedule.principal)  # after month t, exact
    before = np.concatenate(([schedule.balance], scheduled[:-1]))
    survived = ((1.0 - mdr) * (1.0 - smm)) ** np.arange(n, dtype=np.float64)  # at month start
    paying = survived * (1.0 - mdr)  # after this month's defaults
    # The balance is rounded first, month by month (it never rises and is zero exactly when
    # the schedule is); each month's fall is then shared among its causes.
    ending, interest = _rounded_exactly(schedule, scenario, scheduled)
    beginning = np.concatenate(([schedule.balance], ending[:-1]))
    causes = np.stack(
        (mdr * survived * before, paying * schedule.principal, smm * paying * scheduled)
    )
    defaults, principal, prepayments = _split(beginning - ending, causes)
    rate = _rate_4(scenario.recovery_rate)
    recovered = _half_up(defaults, rate, 10_000)  # per default month
    pad = lag if recovered.any() else 0
    recoveries = np.zeros(n + pad, dtype=np.int64)
    if pad:
        recoveries[lag:] = recovered
    else:
        recoveries += recovered  # none (or no lag): the same months
    return Collateral(
        beginning=_padded(beginning, pad),
        scheduled_principal=_padded(principal, pad),
        prepayments=_padded(prepayments, pad),
        defaults=_padded(defaults, pad),
        recoveries=recoveries,
        interest=_padded(interest, pad),
        ending=_padded(ending, pad),
        losses=_padded(defaults - recovered, pad),
    )


def _padded(flow: Fen, pad: int) -> Fen:
    """``flow`` followed by ``pad`` months of nothing (the months that only bring recoveries)."""
    return np.concatenate((flow, np.zeros(pad, dtype=np.int64))) if pad else flow


def _rate_4(rate: Decimal) -> int:
    """A rate of at most four decimals as an integer of 1/10,000ths."""
    scaled = rate * 10_000
    if scaled != scaled.to_integral_value():
        raise ValueError("rates have at most four decimals")
    return int(scaled)


def project(schedule: PoolSchedule, scenario: Scenario, structure: Structure) -> Projection:
    return waterfall.run(collateral(schedule, scenario), structure)


def senior_loss(schedule: PoolSchedule, scenario: Scenario, structure: Structure) -> int:
    """The senior tranche's principal written down over the projection, in fen."""
    flows = collateral(schedule, scenario)
    return waterfall.senior_writedown(flows, structure)


def breakeven_cdr(
    schedule: PoolSchedule, scenario: Scenario, structure: Structure
) -> Decimal | None:
    """The smallest CDR on the 0.0001 grid at which the senior tranche loses principal, the
    other conditions of ``scenario`` held; None when even a CDR of 1 leaves it whole.

    The senior's loss never falls as the CDR rises (more defaults, sooner, and less principal
    collected to retire the senior before the losses reach it), so a bisection over the grid
    finds the first step that loses: about 14 projections."""

    def loses(step: int) -> bool:
        at = Scenario(
            cpr=scenario.cpr,
            cdr=Decimal(step) / CDR_STEPS,
            recovery_rate=scenario.recovery_rate,
            recovery_lag_months=scenario.recovery_lag_months,
        )
        return senior_loss(schedule, at, structure) > 0

    if not loses(CDR_STEPS):
        return None
    low, high = 0, CDR_STEPS  # low never loses (no defaults at 0), high does
    while high - low > 1:
        middle = (low + high) // 2
        if loses(middle):
            high = middle
        else:
            low = middle
    return (Decimal(high) / CDR_STEPS).quantize(Decimal("0.0001"))


def grid(
    schedule: PoolSchedule,
    scenarios: Iterable[Scenario],
    structure: Structure,
) -> Iterator[tuple[Scenario, Projection]]:
    """Each scenario's projection, on one aggregated schedule."""
    for scenario in scenarios:
        yield scenario, project(schedule, scenario, structure)
