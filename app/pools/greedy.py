"""Pool filling in whole fen: the greedy fill, the repair that makes any set of loans valid, and
the top-up and swap polish that take a set closer to its target.

Everything here is integer arithmetic (balances in fen, shares as exact fractions), so a set this
module calls valid is valid to the fen. The optimiser in ``selection`` uses it three ways: as the
fallback when the solver has no answer in time, to repair a solver answer that floating-point
tolerances let slip over a limit, and to close the room a solver answer leaves when the search
stops at a gap tolerance.

The limits are shares of the pool's own total P: for every group g (an obligor, an industry, a
district) S_g ≤ s·P, and P ≤ target. Adding a loan to a valid set only raises P, so only the
loan's own groups need checking; removing one lowers P, so any group may break. That asymmetry
shapes the fill: it cannot grow a pool from nothing against its own total (one loan alone is
100% of it), so it first fills against the target, then repairs, then tops up.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

REFILL_PASSES = 4  # a top-up pass admits loans the previous one's growth made room for
POLISH_PASSES = 3
SWAP_TRIES = 16  # larger loans tried in place of each chosen one before moving on


@dataclass(frozen=True)
class Book:
    """A portfolio in integers: loan i has ``fen[i]`` and belongs to group ``groups[c][i]`` of
    each limited class c (obligor, industry, district), whose share is ``shares[c]`` =
    (numerator, denominator) with numerator < denominator. Classes limited to 1.00 are left out:
    no group can hold more than the whole pool."""

    fen: Sequence[int]
    groups: Sequence[Sequence[int]]
    group_counts: Sequence[int]
    shares: Sequence[tuple[int, int]]
    target: int
    order: Sequence[int]  # loans by descending balance, ties by loan id


class Fill:
    """A set of chosen loans with its total and group sums kept current."""

    def __init__(self, book: Book, chosen: Iterable[int] = ()) -> None:
        self.book = book
        self.chosen = [False] * len(book.fen)
        self.total = 0
        self.sums = [[0] * count for count in book.group_counts]
        for i in chosen:
            self.add(i)

    def add(self, i: int) -> None:
        self.chosen[i] = True
        b = self.book.fen[i]
        self.total += b
        for c, groups in enumerate(self.book.groups):
            self.sums[c][groups[i]] += b

    def remove(self, i: int) -> None:
        self.chosen[i] = False
        b = self.book.fen[i]
        self.total -= b
        for c, groups in enumerate(self.book.groups):
            self.sums[c][groups[i]] -= b

    def loans(self) -> list[int]:
        return [i for i, yes in enumerate(self.chosen) if yes]

    def fits_against(self, i: int, base: int) -> bool:
        """Loan i can join without its groups passing their shares of ``base``."""
        book = self.book
        b = book.fen[i]
        if self.total + b > book.target:
            return False
        for c, (num, den) in enumerate(book.shares):
            if (self.sums[c][book.groups[c][i]] + b) * den > num * base:
                return False
        return True

    def fits(self, i: int) -> bool:
        """Loan i can join a valid set and leave it valid (shares of the new total)."""
        return self.fits_against(i, self.total + self.book.fen[i])

    def fits_swap(self, out: int, into: int) -> bool:
        """Chosen loan ``out`` can give way to the larger ``into``, leaving the set valid.

        The total grows, so only ``into``'s groups can break."""
        book = self.book
        b_out, b_in = book.fen[out], book.fen[into]
        total = self.total - b_out + b_in
        if b_in <= b_out or total > book.target:
            return False
        for c, (num, den) in enumerate(book.shares):
            g = book.groups[c][into]
            held = self.sums[c][g] + b_in - (b_out if book.groups[c][out] == g else 0)
            if held * den > num * total:
                return False
        return True

    def valid(self) -> bool:
        if self.total > self.book.target:
            return False
        for c, (num, den) in enumerate(self.book.shares):
            if self.sums[c] and max(self.sums[c]) * den > num * self.total:
                return False
        return True


def greedy(book: Book) -> Fill:
    """Largest loans first against the target, then repaired and topped up: always valid."""
    fill = Fill(book)
    for i in book.order:
        if fill.fits_against(i, book.target):
            fill.add(i)
    repair(fill)
    refill(fill)
    polish(fill)
    return fill


def refill(fill: Fill) -> bool:
    """Add loans, largest first, while the set stays valid. Returns whether any joined."""
    added = False
    for _ in range(REFILL_PASSES):
        grew = False
        for i in fill.book.order:
            if not fill.chosen[i] and fill.fits(i):
                fill.add(i)
                grew = True
        if not grew:
            break
        added = True
    return added


def polish(fill: Fill) -> bool:
    """Close what is left below the target by swapping chosen loans for slightly larger ones.

    A set that no further loan fits into is usually short of its target by less than the
    smallest loan; replacing a chosen loan by one up to that much larger narrows the shortfall,
    and among thousands of loans such pairs abound. Returns whether any swap was made."""
    book = fill.book
    spare = sorted((book.fen[i], i) for i, yes in enumerate(fill.chosen) if not yes)
    improved = False
    for _ in range(POLISH_PASSES):
        swapped = False
        for out in sorted(fill.loans(), key=book.fen.__getitem__):
            room = book.target - fill.total
            if room == 0:
                return improved
            b_out = book.fen[out]
            top = bisect_right(spare, (b_out + room, len(book.fen))) - 1
            for k in range(top, max(top - SWAP_TRIES, -1), -1):
                into = spare[k][1]
                if spare[k][0] <= b_out:
                    break
                if fill.fits_swap(out, into):
                    fill.remove(out)
                    fill.add(into)
                    del spare[k]
                    insort(spare, (b_out, out))
                    swapped = improved = True
                    break
        if not swapped:
            break
    return improved


def repair(fill: Fill) -> bool:
    """Drop loans until the set meets every limit against its own total; returns whether any
    went. Each step takes the most concentrated group over its share and drops its smallest
    loan that clears the excess alone (or its largest, when none does); the empty set is valid,
    so this ends."""
    book = fill.book
    chosen_by_size = sorted((book.fen[i], i) for i in fill.loans())
    members: list[dict[int, list[tuple[int, int]]]] = [{} for _ in book.shares]
    for b, i in chosen_by_size:
        for c, groups in enumerate(book.groups):
            members[c].setdefault(groups[i], []).append((b, i))
    heaps = [[(-s, g) for g, s in enumerate(sums) if s] for sums in fill.sums]
    for heap in heaps:
        heapq.heapify(heap)

    def drop(entry: tuple[int, int]) -> None:
        _, i = entry
        fill.remove(i)
        del chosen_by_size[bisect_left(chosen_by_size, entry)]
        for c, groups in enumerate(book.groups):
            g = groups[i]
            group = members[c][g]
            del group[bisect_left(group, entry)]
            if fill.sums[c][g]:
                heapq.heappush(heaps[c], (-fill.sums[c][g], g))

    changed = False
    while True:
        if fill.total > book.target:
            drop(_clearing(chosen_by_size, fill.total - book.target))
            changed = True
            continue
        worst = None
        for c, (num, den) in enumerate(book.shares):
            heap = heaps[c]
            while heap and -heap[0][0] != fill.sums[c][heap[0][1]]:
                heapq.heappop(heap)  # stale: the group's sum has moved since
            if heap:
                excess = -heap[0][0] * den - num * fill.total
                if excess > 0:
                    worst = (c, heap[0][1], -(-excess // (den - num)))
                    break
        if worst is None:
            return changed
        c, g, need = worst
        drop(_clearing(members[c][g], need))
        changed = True


def _clearing(ascending: list[tuple[int, int]], need: int) -> tuple[int, int]:
    k = bisect_left(ascending, (need, -1))
    return ascending[k] if k < len(ascending) else ascending[-1]
