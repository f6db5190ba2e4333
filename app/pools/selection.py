"""Automatic pool selection (SPEC 3.9): the eligible loans of the largest total outstanding
principal not above the target that keep every obligor, industry and district within its share.

As a mixed-integer program over xᵢ ∈ {0, 1} (loan i chosen) and the pool total P:

    maximise   Σ bᵢxᵢ
    subject to Σ bᵢxᵢ − P = 0,   0 ≤ P ≤ target
               Σ_{i∈g} bᵢxᵢ − s·P ≤ 0   for every obligor, industry and district g

P is a variable of its own so each share row holds only its group's loans: written against
Σ bᵢxᵢ directly every obligor row would hold all 10,000 loans. (Maximising P instead is the same
program, the first row making the two equal; either way each share row holds its group's loans
and P, and Σ bᵢxᵢ is simply the objective kept.) HiGHS, through SciPy, solves it in floating
point; the answer is then checked exactly, in fen, and repaired when a tolerance let a limit
slip, so what ``select`` returns meets every limit to the fen. The bound reported beside it
is the linear relaxation's (0 ≤ xᵢ ≤ 1): no selection can beat it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from app.pools.greedy import Book, Fill, greedy, polish, refill, repair

FEN = Decimal("0.01")
# The reported gap, rounded up (so 0 means the total is the bound) to places that print
# without an exponent.
GAP_PLACES = 6
# A selection is good enough once within this fraction of the bound: CNY 1 in CNY 100,000.
# Closing the last few thousand yuan of a CNY 300m pool exactly is a subset-sum search that
# can take the whole budget for nothing a desk would notice.
MIP_REL_GAP = 1e-5
# The first branch and bound stops within 0.1% of what it can prove: at 10,000 loans that takes
# under a second where 0.01% can outlast any budget. The top-up and swap polish that follow
# usually close the rest to within a few yuan of the bound; only when they do not does a
# second, finer search spend what is left of the budget.
FIRST_PASS_GAP = 1e-3
# Scale balances so the largest is 1,000–9,999 solver units: coefficients stay near 1 and the
# solver's absolute tolerances (1e-6..1e-7 units) stay below a fen for balances under CNY 100m.
_UNIT_DIGITS = 3

# HiGHS's presolve (SciPy 1.17.1) has been seen to cut off the optimum of a 9-loan program and
# still report it solved with no gap (tests/pools/test_selection.py keeps that portfolio); it
# saves nothing measurable at 10,000 loans, so both the relaxation and the branch and bound
# run without it.
_PRESOLVE = False

_CLASSES = (
    ("obligor", "max_obligor_share"),
    ("industry", "max_industry_share"),
    ("district", "max_district_share"),
)


@dataclass(frozen=True)
class Candidate:
    loan_id: str
    balance: Decimal  # outstanding principal at the cut-off, > 0, two decimals
    obligor: str  # enterprise id
    industry: str
    district: str


@dataclass(frozen=True)
class Limits:
    target: Decimal  # the pool's target balance
    max_obligor_share: Decimal = Decimal("0.10")
    max_industry_share: Decimal = Decimal("0.40")
    max_district_share: Decimal = Decimal("1.00")


@dataclass(frozen=True)
class Selection:
    loan_ids: tuple[str, ...]  # in the order the candidates came
    total: Decimal  # Σ balance of the chosen loans, exact
    bound: Decimal  # upper bound from the linear relaxation (≥ total), rounded up to the fen
    gap: Decimal  # (bound − total) / bound, rounded up to 6 places; 0 when bound is 0
    # "highs-milp" (optimal, or the best found within the budget) | "greedy" (the fallback fill:
    # no time left, nothing found in time, or it simply reached more)
    solver: str
    optimal: bool  # no selection reaches a fen more
    solve_ms: int


def check(
    chosen: Sequence[Candidate], limits: Limits, *, against: Decimal | None = None
) -> list[str]:
    """The limits a set of loans breaks (empty: none). Shares are measured against ``against``
    (the target, while a pool is open) or, when None, the set's own total (at lock)."""
    target = _fen(limits.target, "target")
    total = sum(_fen(c.balance, f"balance of {c.loan_id}") for c in chosen)
    base = total if against is None else _fen(against, "against")
    broken = []
    if total > target:
        broken.append(f"total {_money(total)} is above the target {_money(target)}")
    for kind, attribute in _CLASSES:
        share = getattr(limits, attribute)
        num, den = _ratio(share, attribute)
        sums: dict[str, int] = {}
        for c in chosen:
            key = getattr(c, kind)
            sums[key] = sums.get(key, 0) + _fen(c.balance, "balance")
        for key in sorted(sums):
            if sums[key] * den > num * base:
                broken.append(
                    f"{kind} {key} holds {_money(sums[key])}, more than {share} of {_money(base)}"
                )
    return broken


def select(
    candidates: Sequence[Candidate],
    limits: Limits,
    *,
    time_budget_s: float,
    mip_rel_gap: float = MIP_REL_GAP,
) -> Selection:
    """The largest selection found within about ``time_budget_s`` seconds of wall time.

    The greedy fill and the linear relaxation (which gives the bound) always run; the branch
    and bound gets what is left of the budget, first to a coarse tolerance, then (when the
    answer is still further than ``mip_rel_gap`` from the bound and unproven) to the fine one.
    Each of its answers is topped up and polished (a tolerance leaves room) and compared with
    the greedy fill's; the largest is returned, ties to the solver. ``solver`` says which it
    was: "greedy" when no time was left, when the solver found nothing in time, or when the
    greedy fill simply reached more. The same input gives the same selection unless the budget
    cuts a search short.
    """
    started = time.perf_counter()
    book, index = _book(candidates, limits)
    if not book.fen:
        return _selection(candidates, index, Fill(book), 0, "highs-milp", True, started)
    fill, solver, proven = greedy(book), "greedy", False
    unit = 10 ** max(0, len(str(max(book.fen))) - 1 - _UNIT_DIGITS)
    c, constraint, bounds, integrality = _model(book, unit)

    relaxed = milp(c, constraints=constraint, bounds=bounds, options={"presolve": _PRESOLVE})
    bound = min(book.target, sum(book.fen))
    if relaxed.status == 0:
        bound = min(bound, math.ceil(-relaxed.fun * unit))

    passes = (FIRST_PASS_GAP, mip_rel_gap) if mip_rel_gap < FIRST_PASS_GAP else (mip_rel_gap,)
    for gap in passes:
        remaining = time_budget_s - (time.perf_counter() - started)
        if remaining <= 0:
            break
        options = {"time_limit": remaining, "mip_rel_gap": gap, "presolve": _PRESOLVE}
        result = milp(
            c, constraints=constraint, bounds=bounds, integrality=integrality, options=options
        )
        if result.x is not None:
            solved, solved_proven = _verified(book, result, unit)
            if solved.total > fill.total or (solver == "greedy" and solved.total == fill.total):
                fill, solver, proven = solved, "highs-milp", solved_proven
        if proven or bound - fill.total <= mip_rel_gap * bound:
            break
    optimal = proven or fill.total >= bound
    return _selection(candidates, index, fill, bound, solver, optimal, started)


def _verified(book: Book, result: OptimizeResult, unit: int) -> tuple[Fill, bool]:
    """The solver's answer checked in fen, repaired if a tolerance let it slip, topped up
    unless proven optimal; and whether it is (no selection reaches a fen more)."""
    fill = Fill(book, np.flatnonzero(result.x[: len(book.fen)] > 0.5).tolist())
    repaired = repair(fill)
    proven = (
        result.status == 0
        and not repaired
        and result.mip_dual_bound is not None
        and -result.mip_dual_bound * unit < fill.total + 1
    )
    if not proven:
        refill(fill)
        polish(fill)
    return fill, proven


def _model(book: Book, unit: int) -> tuple[np.ndarray, LinearConstraint, Bounds, np.ndarray]:
    m = len(book.fen)
    loans = np.arange(m)
    b = np.asarray(book.fen, dtype=np.float64) / unit
    rows = [np.zeros(m, dtype=np.int64), np.zeros(1, dtype=np.int64)]
    cols = [loans, np.array([m])]
    vals = [b, np.array([-1.0])]
    offset = 1
    for c, (num, den) in enumerate(book.shares):
        count = book.group_counts[c]
        rows += [offset + np.asarray(book.groups[c], dtype=np.int64), offset + np.arange(count)]
        cols += [loans, np.full(count, m)]
        vals += [b, np.full(count, -num / den)]
        offset += count
    matrix = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, m + 1)
    )
    lower = np.full(offset, -np.inf)
    lower[0] = 0.0
    constraint = LinearConstraint(matrix, lower, np.zeros(offset))
    bounds = Bounds(np.zeros(m + 1), np.append(np.ones(m), book.target / unit))
    return np.append(-b, 0.0), constraint, bounds, np.append(np.ones(m), 0.0)


def _book(candidates: Sequence[Candidate], limits: Limits) -> tuple[Book, list[int]]:
    """The candidates that could be in some valid pool, in integers; and their positions.

    A loan larger than the target, or than its share of the target, can be in no pool (its
    group would hold more than s·P ≤ s·target), so it never reaches the solver."""
    target = _fen(limits.target, "target")
    ratios = [_ratio(getattr(limits, attribute), attribute) for _, attribute in _CLASSES]
    seen: set[str] = set()
    index: list[int] = []
    fen: list[int] = []
    for position, candidate in enumerate(candidates):
        if candidate.loan_id in seen:
            raise ValueError(f"loan {candidate.loan_id} is a candidate twice")
        seen.add(candidate.loan_id)
        b = _fen(candidate.balance, f"balance of {candidate.loan_id}")
        if b <= 0:
            raise ValueError(f"balance of {candidate.loan_id} must be positive")
        if b <= target and all(b * den <= num * target for num, den in ratios):
            index.append(position)
            fen.append(b)
    groups, counts, shares = [], [], []
    for (kind, _), (num, den) in zip(_CLASSES, ratios, strict=True):
        if num >= den:
            continue
        ids: dict[str, int] = {}
        groups.append([ids.setdefault(getattr(candidates[p], kind), len(ids)) for p in index])
        counts.append(len(ids))
        shares.append((num, den))
    order = sorted(range(len(fen)), key=lambda i: (-fen[i], candidates[index[i]].loan_id))
    return Book(fen, groups, counts, shares, target, order), index


def _selection(
    candidates: Sequence[Candidate],
    index: list[int],
    fill: Fill,
    bound: int,
    solver: str,
    optimal: bool,
    started: float,
) -> Selection:
    bound = max(bound, fill.total)
    gap = Decimal(0)
    if bound:
        scale = 10**GAP_PLACES
        gap = Decimal(-(-(bound - fill.total) * scale // bound)).scaleb(-GAP_PLACES).normalize()
    return Selection(
        loan_ids=tuple(candidates[index[i]].loan_id for i in fill.loans()),
        total=_money(fill.total),
        bound=_money(bound),
        gap=gap,
        solver=solver,
        optimal=optimal,
        solve_ms=round((time.perf_counter() - started) * 1000),
    )


def _fen(amount: Decimal, what: str) -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(FEN):
        raise ValueError(f"{what} must be a finite Decimal with at most two decimals")
    if amount < 0:
        raise ValueError(f"{what} must not be negative")
    return int(amount.scaleb(2))


def _ratio(share: Decimal, what: str) -> tuple[int, int]:
    if not isinstance(share, Decimal) or not share.is_finite() or not 0 <= share <= 1:
        raise ValueError(f"{what} must be a Decimal between 0 and 1")
    return share.as_integer_ratio()


def _money(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)
