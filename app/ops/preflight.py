"""Checks at start-up, before a process takes traffic: settings that are wrong for the
database this deployment actually has."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
import structlog
from pydantic import ValidationError
from pydantic_settings import SettingsError

from app.config import (
    Settings,
    describe_errors,
    describe_source_error,
    get_settings,
    unknown_variables,
)

log = structlog.get_logger("ipledge.preflight")


async def pool_problem(url: str, settings: Settings, *, processes: int) -> str | None:
    """Why the pools of ``processes`` processes cannot fit in the server's connections, or
    None. An unreachable database is not a reason to refuse to start (readiness says so)."""
    from app.core.db import libpq_url

    try:
        conn = await asyncpg.connect(libpq_url(url), timeout=settings.db_connect_timeout_s)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("database not reachable at start-up", error=type(exc).__name__)
        return None
    try:
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
    finally:
        await conn.close()
    available = max_connections - reserved
    wanted = settings.db_pool_size * processes
    if wanted <= available:
        return None
    return (
        f"invalid setting IPLEDGE_DB_POOL_SIZE={settings.db_pool_size}: {processes} "
        f"process(es) would open {wanted} connections, more than the server's "
        f"max_connections ({max_connections}, {reserved} reserved) allows"
    )


def settings_report(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(warnings, errors) about the settings in ``environ``, one line each: variables that
    name no setting, and values that do not parse or are out of range."""
    warnings = [f"warning: {name} is not a setting; ignored" for name in unknown_variables(environ)]
    try:
        get_settings()
    except ValidationError as exc:
        return warnings, describe_errors(exc)
    except SettingsError as exc:
        return warnings, [describe_source_error(exc)]
    return warnings, []
