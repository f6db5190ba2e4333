from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.core.db import Db
from app.core.journal import Params
from app.models.application import ApplicationState
from app.models.pledge import PledgeState

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
    params: Params,
    pledge_id: str,
    version: str,
    from_state: str,
    to_state: str,
    now: str,
    sets: dict[str, Any],
    guard: str | None,
    journal_ctes: list[str],
) -> asyncpg.Record | None:
    """Move the pledge if it is still at ``version`` and in ``from_state`` (placeholders of
    ``params``). With ``guard`` (a CTE named ``app`` returning the application's ``id``, the
    applications domain's: ``app.pledges.service.ApplicationGuard``) the move is made only if
    the guard returned its application. ``journal_ctes`` write the move's audit entries and
    events."""
    assignments = "".join(f", {column} = {params.add(value)}" for column, value in sets.items())
    joined = "FROM app WHERE p.application_id = app.id AND " if guard else "WHERE "
    ctes = [
        *([guard] if guard else []),
        f"""moved AS (
                UPDATE pledges p SET state = {to_state}, updated_at = {now},
                    version = version + 1{assignments}
                {joined}p.id = {pledge_id} AND p.version = {version} AND p.state = {from_state}
                RETURNING {COLUMNS}
            )""",
        *journal_ctes,
    ]
    return await db.fetchrow("WITH " + ",\n".join(ctes) + "\nSELECT * FROM moved", *params.values)


def propose_for_application(source: str, now: str) -> str:
    """A CTE body: one proposed pledge of each asset of the applications in ``source`` (rows
    with ``id`` and ``ip_asset_ids``) that were drafts (``prior_state``); returns the pledges."""
    return f"""INSERT INTO pledges
        (id, application_id, ip_asset_id, state, created_at, updated_at, version)
    SELECT uuid7(), src.id, asset, '{PledgeState.PROPOSED}', {now}, {now}, 1
    FROM {source} AS src, unnest(src.ip_asset_ids) AS asset
    WHERE src.prior_state = '{ApplicationState.DRAFT}'
    RETURNING id, ip_asset_id"""


def cancel_for_application(source: str, *, now: str, reason: str) -> str:
    """A CTE body: the proposed pledges of the application in ``source`` (a row with ``id``)
    are cancelled, as it ends."""
    cancelled, proposed = PledgeState.CANCELLED, PledgeState.PROPOSED
    return f"""UPDATE pledges p
    SET state = '{cancelled}', state_reason = {reason}, updated_at = {now}, version = p.version + 1
    FROM {source} AS src
    WHERE p.application_id = src.id AND p.state = '{proposed}'
    RETURNING p.id"""


def release_for_application(source: str, *, now: str, today: str, reason: str) -> str:
    """A CTE body: the registered pledges of the application in ``source`` are released."""
    released = PledgeState.RELEASED
    return f"""UPDATE pledges p
    SET state = '{released}', released_on = {today}, state_reason = {reason}, updated_at = {now},
        version = p.version + 1
    FROM {source} AS src
    WHERE p.application_id = src.id AND p.state = '{PledgeState.REGISTERED}'
    RETURNING p.id"""


# The date a pledge's end for its loan sets.
_DATE_COLUMN = {PledgeState.RELEASED: "released_on", PledgeState.ENFORCED: "enforced_on"}


async def end_for_loan(
    db: Db,
    *,
    application_id: UUID,
    to_state: PledgeState,
    now: datetime,
    on: date,
    reason: str,
) -> list[asyncpg.Record]:
    """Release (paid off) or enforce (default) every registered pledge of a loan's application."""
    date_column = _DATE_COLUMN[to_state]
    return await db.fetch(
        f"""UPDATE pledges p SET state = $5, {date_column} = $3, state_reason = $4,
                   updated_at = $2, version = version + 1
            WHERE p.application_id = $1 AND p.state = '{PledgeState.REGISTERED}'
            RETURNING {COLUMNS}""",
        application_id,
        now,
        on,
        reason,
        to_state,
    )
