"""The classification sweep: risk classes that change with the passing of days.

A posting and a default announce the class change they cause themselves. What changes with no
one acting (an unpaid instalment ageing into the next band) is found here: each loan keeps the
date its class may next change (``classification_review_on``, worked out by the engine's
``next_change``), so a pass reads only the loans due for review, by an index.

Safe with any number of workers: a pass locks the loans it reviews (``FOR UPDATE SKIP
LOCKED``), reads them in a snapshot taken once they are locked, and stores each one's class
with its ``loan.classification_changed`` event in the same transaction. A loan another worker
or a posting holds is skipped, and its holder announces what changed; a class is announced
once, whoever finds the change first.
"""

from __future__ import annotations

from app.core.context import SYSTEM, Ctx
from app.core.runtime import Runtime
from app.loans import repository, rows
from app.loans.classification import classify_schedule, next_change
from app.loans.domain import state_as_of
from app.loans.posting import NEVER, announce_class_change
from app.models.loan import LoanState

BATCH = 500


async def review(ctx: Ctx, *, limit: int = BATCH) -> tuple[int, int]:
    """One batch: (loans reviewed, classes changed)."""
    ids = await repository.lock_for_review(ctx.db, today=ctx.today, limit=limit)
    if not ids:
        return 0, 0
    loans = await repository.read_many(ctx.db, ids)
    classes, review_on, changed = [], [], []
    for row in loans:
        schedule = rows.schedule(row["schedule"])
        defaulted = state_as_of(row, ctx.today) == LoanState.DEFAULTED
        cls = classify_schedule(schedule, ctx.today, defaulted=defaulted).value
        changed.append(announce_class_change(ctx, row, cls, reason="days_past_due"))
        classes.append(cls)
        review_on.append(next_change(schedule, ctx.today, defaulted=defaulted) or NEVER)
    await repository.set_classifications(
        ctx.db,
        ids=[row["id"] for row in loans],
        classes=classes,
        review_on=review_on,
        changed=changed,
        now=ctx.now,
    )
    return len(loans), sum(changed)


async def classification_sweep(runtime: Runtime) -> dict[str, int] | None:
    """Review every loan due for it, a batch per transaction."""
    reviewed = announced = 0
    while True:
        async with runtime.unit_of_work(SYSTEM, label="classification-sweep") as ctx:
            done, changed = await review(ctx)
        reviewed += done
        announced += changed
        if done < BATCH:
            break
    return {"reviewed": reviewed, "announced": announced} if reviewed else None
