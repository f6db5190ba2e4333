"""Idempotency-Key on POST (IETF httpapi idempotency-key draft).

Within the request's transaction: a transaction-scoped advisory lock on (key, caller) is tried;
then the stored response, if any, is replayed byte for byte, whether or not the lock was had
(another retry may hold it while it replays: a finished request's answer is final). Only when
the lock is held elsewhere and no response is stored is the first request still running: 409
at once instead of acting twice. A successful response is stored by the same statement that
writes the request's audit entries (``app.core.outbox.flush``), so it exists exactly when the
effect does. A request that fails changes nothing and stores nothing: the key may be retried.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response

from app.core.context import Claim as Claim
from app.core.context import Ctx
from app.core.db import Db
from app.core.errors import IdempotencyKeyReused, IdempotencyRequestInProgress, ValidationFailed
from app.core.jsonutil import dumps_str

HEADER = "idempotency-key"
# 1 to 255 visible ASCII characters (0x21 to 0x7e); the OpenAPI document states the same
# pattern (``app.core.routing``).
KEY_PATTERN = r"^[!-~]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
_STORED_HEADERS = ("content-type", "location", "etag")


def validate_key(value: str) -> str:
    if not _KEY.match(value):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            errors=[
                {"loc": ["header", "Idempotency-Key"], "msg": "malformed", "type": "value_error"}
            ],
        )
    return value


def request_hash(method: str, target: str, body: bytes) -> bytes:
    digest = hashlib.sha256()
    digest.update(method.encode())
    digest.update(b" ")
    digest.update(target.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.digest()


def lock_id(ctx: Ctx, key: str) -> int:
    """The transaction-scoped advisory lock (``pg_try_advisory_xact_lock``) that the caller's
    Idempotency-Key ``key`` is held by while its request runs: a signed 64-bit number derived
    from the API key and ``key``, the same in every process, so that two requests with one key
    never run at once, whether the lock is taken by ``begin`` or inside a single statement
    (``app.core.outbox.claim_ctes``)."""
    digest = hashlib.sha256(f"idem:{ctx.principal.key_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def begin(ctx: Ctx, claim: Claim) -> Response | None:
    """Take the key for this transaction; return the response to replay, if there is one."""
    locked = await ctx.db.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_id(ctx, claim.key))
    # A new statement, so its snapshot sees a first request that committed before the lock
    # was tried (and released it).
    row = await ctx.db.fetchrow(
        """SELECT request_hash, status_code, headers, body FROM idempotency_records
           WHERE api_key_id = $1 AND idempotency_key = $2 AND created_at > $3""",
        ctx.principal.key_id,
        claim.key,
        ctx.now - timedelta(hours=ctx.settings.idempotency_ttl_hours),
    )
    if row is None:
        if not locked:
            raise IdempotencyRequestInProgress()
        return None
    if bytes(row["request_hash"]) != claim.request_hash:
        raise IdempotencyKeyReused()
    headers = dict(row["headers"])
    headers["Idempotent-Replayed"] = "true"
    return Response(content=bytes(row["body"]), status_code=row["status_code"], headers=headers)


def stored_response(
    ctx: Ctx, claim: Claim, response: Response, *, withheld: tuple[str, ...] = ()
) -> tuple[Any, ...]:
    """The row kept for ``claim``: the answer as sent, but for the members ``withheld`` (a
    secret shown once), which it keeps as null."""
    headers = {k: v for k, v in response.headers.items() if k in _STORED_HEADERS}
    body = bytes(response.body)
    if withheld:
        answer = orjson.loads(body)
        answer.update(dict.fromkeys(name for name in withheld if name in answer))
        body = orjson.dumps(answer)
    return (
        ctx.principal.key_id,
        claim.key,
        claim.request_hash,
        response.status_code,
        dumps_str(headers),
        body,
    )


# Retention (``app.ops.retention``): one bounded batch of stored responses past the replay
# window. The table is this module's, so its SQL lives here.
PURGE_SQL = """
DELETE FROM idempotency_records
WHERE (api_key_id, idempotency_key) IN (
    SELECT api_key_id, idempotency_key FROM idempotency_records
    WHERE created_at <= $1 ORDER BY created_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
"""


async def purge(db: Db, limit: int, *, before: datetime) -> int:
    """Delete at most ``limit`` stored responses made at or before ``before``; returns how
    many were deleted."""
    status = await db.execute(PURGE_SQL, before, limit)
    return int(status.split()[-1])
