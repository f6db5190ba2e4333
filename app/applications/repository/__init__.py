"""SQL for applications, their approval clocks and their proposed pledges.

Reads return one row with everything a response needs (clocks, pledges and the locked quote
folded in as JSON). Writes are single conditional statements: they change nothing unless the
application is still at the version and in the state the service read. Pledges' rows are
written by CTEs of ``app.pledges.repository``; audit entries and events by ``app.core.journal``.
"""

from app.applications.repository.clocks import (
    SWEEP_BATCH,
    clocks_where,
    report_due,
    store_deadlines,
    sweep_sql,
)
from app.applications.repository.intake import KeyedAnswer, insert_draft
from app.applications.repository.moves import (
    disbursement_move,
    pledge_move_guard,
    stop_and_move,
)
from app.applications.repository.reads import get, intake_diagnosis, page, state_of
from app.applications.repository.submission import submit

__all__ = [
    "SWEEP_BATCH",
    "KeyedAnswer",
    "clocks_where",
    "disbursement_move",
    "get",
    "insert_draft",
    "intake_diagnosis",
    "page",
    "pledge_move_guard",
    "report_due",
    "state_of",
    "stop_and_move",
    "store_deadlines",
    "submit",
    "sweep_sql",
]
