from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.sql import shift_params

COLUMNS = """p.id, p.application_id, p.ip_asset_id, p.state, p.registration_no, p.registered_on,
    p.released_on, p.enforced_on, p.state_reason, p.created_at, p.updated_at, p.version"""


async def get(db: Db, pledge_id: UUID, *, lock_application: bool = False) -> asyncpg.Record | None:
    """The pledge with what its rules need of its application (and of its loan, if any).

    ``lock_application`` first holds the application FOR SHARE (inside the caller's
    transaction), then reads in a snapshot taken after the lock: no move of the application
    (a decision, a withdrawal, a disbursement) can commit between this read and the caller's
    change of the pledge, and one that committed while we waited is seen. Like every move of an
    application, it takes the application before the pledge, so the two never deadlock.
    """
    if lock_application:
        await db.execute(
            """SELECT 1 FROM applications a
               WHERE a.id = (SELECT p.application_id FROM pledges p WHERE p.id = $1)
               FOR SHARE OF a""",
            pledge_id,
        )
    return await db.fetchrow(
        f"""SELECT {COLUMNS}, a.state AS application_state, a.relationship_manager_id,
                   a.district_code,
                   (SELECT l.state FROM loans l WHERE l.application_id = a.id) AS loan_state
            FROM pledges p JOIN applications a ON a.id = p.application_id
            WHERE p.id = $1""",
        pledge_id,
    )


async def page(db: Db, *, where: str, args: list[Any], limit_param: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"""SELECT {COLUMNS} FROM pledges p JOIN applications a ON a.id = p.application_id
            {where} ORDER BY p.id DESC LIMIT {limit_param}""",
        *args,
    )


async def move(
    db: Db,
    *,
    pledge_id: UUID,
    version: int,
    from_state: str,
    to_state: str,
    now: datetime,
    sets: dict[str, Any],
    folded: str,
    folded_args: list[Any],
    application_states: frozenset[str] | None = None,
) -> asyncpg.Record | None:
    """Move the pledge if it is still at ``version`` and in ``from_state``. With
    ``application_states`` the move also counts as a change of its application (whose answer
    shows its pledges): it is made only while the application is in one of those states, and
    the application's version moves with it, so a move of the application decided on what it
    read before (a decline, a withdrawal) fails rather than overlook the pledge."""
    assignments = "".join(f", {column} = ${6 + i}" for i, column in enumerate(sets))
    args: list[Any] = [pledge_id, version, from_state, to_state, now, *sets.values()]
    guard = ""
    joined = ""
    if application_states is not None:
        args.append(sorted(application_states))
        guard = f"""app AS (
                UPDATE applications a SET version = a.version + 1, updated_at = $5
                FROM pledges p
                WHERE p.id = $1 AND a.id = p.application_id
                  AND a.state = ANY(${len(args)}::text[])
                RETURNING a.id
            ),
            """
        joined = "FROM app WHERE p.application_id = app.id AND "
    return await db.fetchrow(
        f"""WITH {guard}moved AS (
                UPDATE pledges p SET state = $4, updated_at = $5, version = version + 1
                    {assignments}
                {joined or "WHERE "}p.id = $1 AND p.version = $2 AND p.state = $3
                RETURNING {COLUMNS}
            ){"," if folded else ""}
            {shift_params(folded, len(args))}
            SELECT * FROM moved""",
        *args,
        *folded_args,
    )


async def end_for_loan(
    db: Db, *, application_id: UUID, to_state: str, now: datetime, on: date, reason: str
) -> list[asyncpg.Record]:
    """Release (paid off) or enforce (default) every registered pledge of a loan's application."""
    date_column = {"released": "released_on", "enforced": "enforced_on"}[to_state]
    return await db.fetch(
        f"""UPDATE pledges p SET state = $5, {date_column} = $3, state_reason = $4,
                   updated_at = $2, version = version + 1
            WHERE p.application_id = $1 AND p.state = 'registered'
            RETURNING {COLUMNS}""",
        application_id,
        now,
        on,
        reason,
        to_state,
    )
