"""How ``ipledge serve`` runs uvicorn, and the probe behind ``ipledge healthcheck``."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TypedDict

from app.config import Settings

# The API's event loop: asyncio's own, not uvloop. Measured here at 64 connections (one uvicorn
# process on two cores shared with PostgreSQL and wrk; three 6-s runs of each, interleaved):
# a submission's p99 was 82-89 ms on asyncio's loop against 99-327 ms on uvloop, and a draft's
# creation 81-95 ms against 78-298 ms, two runs of three on uvloop above 250 ms in both, at
# throughput within the runs' spread of each other. The worker keeps uvloop (see ``worker``).

SERVE_LOOP = "asyncio"


def start_line(host: str, port: int, *, embedded: bool) -> str:
    """What ``ipledge serve`` says as it starts: where the API and its document are, which
    database it serves, and how to make the first key."""
    base = f"http://{host}:{port}"
    return json.dumps(
        {
            "message": "ipledge is starting",
            "docs": f"{base}/docs",
            "openapi": f"{base}/openapi.json",
            "database": "embedded PostgreSQL under var/" if embedded else "IPLEDGE_DATABASE_URL",
            "first_key": "ipledge keys create --role admin   (or: make key ROLE=admin)",
        }
    )


class UvicornOptions(TypedDict):
    factory: bool
    host: str
    port: int
    workers: int
    loop: str
    http: str
    access_log: bool
    log_config: None
    timeout_keep_alive: int
    timeout_graceful_shutdown: int
    proxy_headers: bool
    forwarded_allow_ips: str


def uvicorn_options(settings: Settings, host: str, port: int, workers: int) -> UvicornOptions:
    """uvicorn's arguments: the serving knobs come from the settings."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": SERVE_LOOP,
        "http": "httptools",
        "access_log": False,
        "log_config": None,
        "timeout_keep_alive": int(settings.keep_alive_s),
        "timeout_graceful_shutdown": int(settings.graceful_shutdown_s),
        "proxy_headers": settings.proxy_headers,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def share_metrics_between_processes() -> None:
    """``--workers N``: Prometheus multiprocess mode, so any process's /metrics answers for all
    of them (``app.core.metrics``). The directory is emptied first, as it must be."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ipledge-metrics-")


def probe(url: str, timeout: float) -> str | None:
    """None when ``url`` (http or https) answers 2xx within ``timeout``; else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        return type(exc).__name__
    return None if 200 <= status < 300 else f"answered {status}"
