"""The processes under test: ``ipledge serve`` ×2, ``ipledge worker`` ×N and the webhook
receiver, each a child in its own session (so a signal reaches it alone), logging to a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.harness import ROOT

IPLEDGE = [sys.executable, "-m", "app"]

# The retry schedule for the soak: the service's default starts at 5 s then 5 min, which would
# leave the receiver's outage undelivered for minutes. This one keeps retrying every few seconds
# for about three minutes, well past the outage, before it would give up.
RETRY_SCHEDULE_S = [1, 2, 3, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]


def service_env(database_url: str) -> dict[str, str]:
    """The environment every ipledge process of the soak runs with."""
    return {
        **os.environ,
        "IPLEDGE_DATABASE_URL": database_url,
        "IPLEDGE_WEBHOOKS_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
        "IPLEDGE_WEBHOOK_RETRY_SCHEDULE_S": json.dumps(RETRY_SCHEDULE_S),
        # A short receiver timeout keeps a dead worker's leases short (lease = rounds × timeout
        # + 30 s), so its claimed deliveries are retried by the other worker within the run.
        "IPLEDGE_WEBHOOK_TIMEOUT_S": "3",
        "IPLEDGE_WORKER_POLL_INTERVAL_S": "0.5",
        # The SLA sweep every 5 s instead of every minute: workers sweep concurrently and often,
        # which is what "exactly once per clock" has to survive.
        "IPLEDGE_SLA_SWEEP_INTERVAL_S": "5",
        # Loans are booked 35 days back so that an instalment is due and repayments pay interest.
        "IPLEDGE_MAX_BACKDATE_DAYS": "60",
        "IPLEDGE_ACCESS_LOG": "false",
        "IPLEDGE_LOG_LEVEL": "INFO",
    }


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*IPLEDGE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"ipledge {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


@dataclass
class Proc:
    """One child process that can be killed and started again under the same name."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str | None = None
    proc: subprocess.Popen | None = None
    starts: int = 0
    started_at: list[float] = field(default_factory=list)

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below
        try:
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self.starts += 1
        self.started_at.append(time.monotonic())

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds until the ready URL answers 200 (or, with none, until the log shows the
        process has started)."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if self.ready_url is None:
                if b"worker started" in self.log_path.read_bytes()[-20000:]:
                    return time.monotonic() - started
            else:
                try:
                    if httpx.get(self.ready_url, timeout=1).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Ask politely (SIGTERM), then insist."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


def api(n: int, port: int, env: dict[str, str], logs: Path) -> Proc:
    return Proc(
        name=f"api{n}",
        cmd=[*IPLEDGE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={
            **env,
            "IPLEDGE_DB_POOL_SIZE": "16",
        },
        log_path=logs / f"api{n}.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
    )


def worker(n: int, env: dict[str, str], logs: Path) -> Proc:
    return Proc(
        name=f"worker{n}",
        cmd=[*IPLEDGE, "worker"],
        env={**env, "IPLEDGE_DB_POOL_SIZE": "4"},
        log_path=logs / f"worker{n}.log",
    )


def receiver(port: int, secret_file: Path, record_file: Path, logs: Path) -> Proc:
    env = {
        **os.environ,
        "SOAK_SECRET_FILE": str(secret_file),
        "SOAK_RECORD_FILE": str(record_file),
    }
    return Proc(
        name="receiver",
        cmd=[
            sys.executable,
            "-m",
            "uvicorn",
            "bench.soak.receiver:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        log_path=logs / "receiver.log",
        ready_url=f"http://127.0.0.1:{port}/",
    )
