"""``ipledge``: the command line (``python -m app`` does the same)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from app.config import EMBEDDED_DEFAULTS, PROJECT_ROOT, get_settings
from app.core.roles import Role
from app.ops.serving import SERVE_LOOP

if TYPE_CHECKING:
    from app.core.context import Ctx

__all__ = ["SERVE_LOOP", "cli", "main"]

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="ipledge: IP-pledge loan origination."
)
keys_cli = typer.Typer(no_args_is_help=True, help="API keys.")
cli.add_typer(keys_cli, name="keys")
calendar_cli = typer.Typer(no_args_is_help=True, help="The working-day calendar.")
cli.add_typer(calendar_cli, name="calendar")
sla_cli = typer.Typer(no_args_is_help=True, help="The approval clock.")
cli.add_typer(sla_cli, name="sla")

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"
T = TypeVar("T")


def _fail(line: str) -> NoReturn:
    typer.echo(f"ipledge: {line}", err=True)
    raise typer.Exit(2)


def _on_database(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's work against the database; a database that cannot be reached stops it
    with one line (exit 1), as ``ipledge migrate`` does, not with a traceback."""
    from app.migrate import unreachable

    try:
        return asyncio.run(work())
    except Exception as exc:
        reason = unreachable(exc)
        if reason is None:
            raise
        typer.echo(f"ipledge: {reason}", err=True)
        raise typer.Exit(1) from None


def _as_operator(work: Callable[[Ctx], Coroutine[Any, Any, T]]) -> T:
    """``work`` in one unit of work of the operator's, on a pool of one connection
    (``_on_database``)."""
    from app.core.context import OPERATOR
    from app.core.runtime import Runtime

    async def run() -> T:
        runtime = Runtime.create(pool_size=1)
        try:
            async with runtime.unit_of_work(OPERATOR, label="cli") as ctx:
                return await work(ctx)
        finally:
            await runtime.close()

    return _on_database(run)


@cli.callback()
def check_settings() -> None:
    """Read the settings once before any command: a bad value stops here with one line per
    setting (no traceback), and a variable that names no setting is reported."""
    from app.ops.preflight import settings_report

    warnings, errors = settings_report(os.environ)
    for line in warnings + errors[:-1]:
        typer.echo(f"ipledge: {line}", err=True)
    if errors:
        _fail(errors[-1])


def _check_pool(url: str, processes: int) -> None:
    from app.ops.preflight import pool_problem

    problem = asyncio.run(pool_problem(url, get_settings(), processes=processes))
    if problem is not None:
        _fail(problem)


def _pin_database_url() -> tuple[str, bool]:
    """Resolve the database once (starting the embedded server if no URL is set) and pin it in
    the environment, so the app, Alembic and child processes all use the same one."""
    from app.core.runtime import resolve_database_url

    settings = get_settings()
    embedded = settings.database_url is None
    url = resolve_database_url(settings)
    os.environ["IPLEDGE_DATABASE_URL"] = url
    if embedded:
        for name, value in EMBEDDED_DEFAULTS.items():
            os.environ.setdefault(name, value)
    get_settings.cache_clear()
    return url, embedded


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (needs a database URL).")] = 1,
) -> None:
    """Serve the API. With no IPLEDGE_DATABASE_URL: starts the embedded PostgreSQL and migrates."""
    import uvicorn

    from app import migrate
    from app.core import logging as app_logging
    from app.ops import serving

    settings = get_settings()
    app_logging.configure(settings.log_level)
    url, embedded = _pin_database_url()
    if embedded:
        migrate.upgrade(url)
        if workers != 1:
            typer.echo("the embedded database serves one worker process; using 1", err=True)
            workers = 1
    _check_pool(url, workers)
    if workers > 1:
        serving.share_metrics_between_processes()
    typer.echo(serving.start_line(host, port, embedded=embedded), err=True)
    uvicorn.run("app.main:app_factory", **serving.uvicorn_options(settings, host, port, workers))


@cli.command()
def worker() -> None:
    """Run the background jobs: webhook relay and periodic sweeps. Run as many as you like."""
    import uvloop

    from app import worker as worker_module
    from app.core import logging as app_logging

    app_logging.configure(get_settings().log_level)
    from app.ops.health import CannotListen

    url, _ = _pin_database_url()
    _check_pool(url, 1)
    # uvloop here: a fifth less CPU per webhook delivery.
    try:
        uvloop.run(worker_module.run_forever())
    except CannotListen as exc:
        _fail(str(exc))


@cli.command(short_help="Exit 0 when the URL answers 2xx, else 1: the containers' health check.")
def healthcheck(
    url: Annotated[
        str | None, typer.Option(help="What to ask (default: IPLEDGE_HEALTHCHECK_URL).")
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait.")] = 3.0,
) -> None:
    """Exit 0 when URL answers 2xx, else 1: the container health check, for the API (its
    /readyz) and the worker (its /healthz) alike."""
    from app.ops.serving import probe

    target = url or get_settings().healthcheck_url
    if not target.startswith(("http://", "https://")):
        _fail(f"invalid health check URL {target!r}: http:// or https:// only")
    trouble = probe(target, timeout)
    if trouble is not None:
        typer.echo(f"unhealthy: {target}: {trouble}", err=True)
        raise typer.Exit(1)


@cli.command(
    "migrate",
    short_help="Bring the database schema to the migrations' head (or a given revision).",
)
def migrate_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    attempts: Annotated[
        int, typer.Option(min=1, help="Tries of a migration that gave up waiting for a lock.")
    ] = 5,
    pause: Annotated[float, typer.Option(min=0, help="Seconds before the first retry.")] = 5.0,
) -> None:
    """Bring the database schema to the migrations' head (or a given revision). A migration
    that cannot take its lock within IPLEDGE_MIGRATION_LOCK_TIMEOUT_MS rolls back and is tried
    again, rather than queueing traffic behind it."""
    from app import migrate
    from app.core import logging as app_logging

    # JSON lines like every process's, so the job's log says which migrations ran.
    app_logging.configure(get_settings().log_level)
    url, _ = _pin_database_url()
    try:
        tries = migrate.upgrade_with_retries(url, revision, attempts=attempts, pause_s=pause)
    except Exception as exc:
        reason = migrate.why_not_run(exc)
        if reason is None:
            raise
        typer.echo(f"ipledge: {reason}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database at {revision} ({tries} attempt{'s' if tries > 1 else ''})", err=True)


@keys_cli.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="The key's role.")],
    subject: Annotated[
        str | None,
        typer.Option(
            help="relationship_manager: the manager's id; district_bureau: the district code."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an API key and print it once."""
    from app.core.errors import DomainError
    from app.keys import service

    _pin_database_url()
    try:
        key = _as_operator(
            lambda ctx: service.create_key(ctx, role=role, subject=subject, name=name)
        )
        created = key.model_dump(mode="json")
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({k: created[k] for k in ("id", "role", "subject", "key")}))
    else:
        typer.echo(created["key"])
        typer.echo(
            f"(key {created['id']}, role {created['role']}"
            + (f", subject {created['subject']}" if created["subject"] else "")
            + "; shown only now)",
            err=True,
        )


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke an API key."""
    from app.core.errors import DomainError
    from app.core.ids import parse_id
    from app.keys import service

    _pin_database_url()
    try:
        _as_operator(lambda ctx: service.revoke_key(ctx, key_id=parse_id(key_id, "API key")))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"revoked {key_id}", err=True)


@calendar_cli.command("load")
def calendar_load(
    force: Annotated[
        bool, typer.Option("--force", help="Also replace years an admin published or corrected.")
    ] = False,
) -> None:
    """(Re)load every year the chinese-calendar package knows, in one transaction, audited."""
    from app.calendar import publishing
    from app.main import connect_domains

    _pin_database_url()
    connect_domains()
    summary = _as_operator(lambda ctx: publishing.load_package(ctx, force=force))
    typer.echo(summary.line())


@sla_cli.command("sweep")
def sla_sweep() -> None:
    """Run the SLA sweep once: compute pending deadlines, emit at-risk and breached events."""
    from app.applications import sweep as sla_sweep_module
    from app.core.runtime import Runtime

    _pin_database_url()

    async def run() -> dict[str, Any]:
        runtime = Runtime.create(pool_size=1)
        try:
            result = await sla_sweep_module.sweep(runtime)
        finally:
            await runtime.close()
        return {
            "at_risk": result.at_risk,
            "breached": result.breached,
            "deadlines_computed": result.deadlines_computed,
        }

    typer.echo(json.dumps(_on_database(run)))


DEMO_HELP = (
    "A guided end-to-end run against the running service: keys, an enterprise with patents, "
    "applications in each approval-clock tier, a quote and approval, pledges, disbursement, a "
    "repayment with its interest-subsidy claim, the signed webhook, and a securitisation pool."
    "\n\n"
    "On the embedded PostgreSQL (make run with no IPLEDGE_DATABASE_URL) every step runs as it "
    "is; with no worker running, the demo delivers its webhook itself. A service on a database "
    "of its own keeps the strict defaults: start it with IPLEDGE_WEBHOOKS_ALLOW_PRIVATE=true "
    "(the demo's webhook receiver is on 127.0.0.1) and IPLEDGE_MAX_BACKDATE_DAYS=120 (receipts "
    "are back-dated to cross a holiday and to book a loan a month back), else the demo says "
    "what it had to leave out."
)


@cli.command(help=DEMO_HELP)
def demo(
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:8000",
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The service's database, for the first admin key and the webhook relay. Default: "
            "IPLEDGE_DATABASE_URL, else the embedded PostgreSQL that `make run` uses."
        ),
    ] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(
            envvar="IPLEDGE_DEMO_ADMIN_KEY",
            help="Use this admin key instead of creating one in the database.",
        ),
    ] = None,
    relay: Annotated[
        bool,
        typer.Option(
            "--relay",
            help="Deliver the webhook from this process (one relay pass at a time, as "
            "`ipledge worker` does) at once, without first giving a worker a moment to.",
        ),
    ] = False,
    webhook_wait: Annotated[
        float, typer.Option(help="Seconds to wait for the webhook delivery.", min=1, max=300)
    ] = 15.0,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text output.")] = False,
) -> None:
    """A guided end-to-end run against the running service (see DEMO_HELP)."""
    from app.demo import Options, run_demo

    if database_url is not None:
        os.environ["IPLEDGE_DATABASE_URL"] = database_url
        get_settings.cache_clear()
    options = Options(
        url=url,
        admin_key=admin_key,
        relay=relay,
        webhook_wait_s=webhook_wait,
        color=not no_color,
    )
    raise typer.Exit(run_demo(options))


@cli.command()
def openapi(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the committed file differs.")
    ] = False,
    path: Annotated[Path, typer.Option(help="Where the document lives.")] = OPENAPI_PATH,
) -> None:
    """Write the OpenAPI document to openapi/openapi.json, or --check that it is current."""
    from app.main import openapi_document

    document = openapi_document()
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != document:
            typer.echo(f"{path} is out of date: run `ipledge openapi`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{path} is current", err=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    typer.echo(f"wrote {path}", err=True)


def main() -> None:
    cli(prog_name="ipledge")


if __name__ == "__main__":  # pragma: no cover
    main()
