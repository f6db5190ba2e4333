"""The audit trail: every state change, append-only, in the transaction of the change.

Services call ``record()``; the unit of work writes everything a request recorded, together
with its outbox events, in one statement just before it commits (``app.core.outbox.flush``).
The table refuses UPDATE, DELETE and TRUNCATE (a trigger from the migrations).
"""

from __future__ import annotations

from typing import Any

from app.core.context import Ctx
from app.core.journal import AuditEntry


def record(
    ctx: Ctx,
    *,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: Any = None,
    after: Any = None,
) -> None:
    """Queue an audit entry. ``before`` and ``after`` are written as JSON when the request
    commits (``app.core.jsonutil.snapshot``): pass values the caller no longer changes."""
    ctx.audit_entries.append(
        AuditEntry(
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
        )
    )
