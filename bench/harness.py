"""What ``make bench`` is built from: servers started as subprocesses on 127.0.0.1, wrk as the
load driver, and in-process timers for the pieces that are not HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.cli import SERVE_LOOP

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and non-2xx/3xx answers
    # CPU per request during the run, in ms (``CpuWatch``): the server's process, and every
    # PostgreSQL process on this machine. None where it could not be read.
    server_cpu_ms: float | None = None
    db_cpu_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def cpu_ms(self) -> float | None:
        if self.server_cpu_ms is None or self.db_cpu_ms is None:
            return None
        return self.server_cpu_ms + self.db_cpu_ms


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int | str) -> float | None:
    """User and system CPU of a process so far, from /proc (None once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _postgres_pids() -> list[str]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(entry)
            except OSError:
                continue
    return pids


class CpuWatch:
    """What a load run cost in CPU: the server's process, and PostgreSQL's processes, which
    are found on this machine (none when the database is elsewhere; then no figure). Where
    req/s is the effect on cores shared by the server, the database and wrk, CPU per request
    is the cost, split between the server and the database. A backend that starts or ends
    during the run is not counted, so the pool should be warm (it is, after the warm-up)."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.db_pids = _postgres_pids() if os.path.isdir("/proc") else []
        self.start = self._read()

    def _read(self) -> tuple[float | None, float | None]:
        server = _cpu_seconds(self.server_pid) if self.server_pid is not None else None
        db: float | None = None
        if self.db_pids:
            db = sum(t for pid in self.db_pids if (t := _cpu_seconds(pid)) is not None)
        return server, db

    def stop(self, result: LoadResult) -> LoadResult:
        (server0, db0), (server1, db1) = self.start, self._read()
        n = max(result.requests, 1)
        if server0 is not None and server1 is not None:
            result.server_cpu_ms = 1000 * (server1 - server0) / n
        if db0 is not None and db1 is not None:
            result.db_cpu_ms = 1000 * (db1 - db0) / n
        return result


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk from Debian's packages…", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
        if not found:
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True
            )
            found = shutil.which("wrk")
    if not found:
        raise SystemExit("make bench needs wrk: apt-get install wrk")
    return found


@contextmanager
def server(
    app: str, env: dict[str, str], *, factory: bool = False, loop: str = SERVE_LOOP
) -> Iterator[str]:
    """Run ``app`` under uvicorn (one process, httptools, the event loop ``ipledge serve``
    runs on unless told otherwise) until the block ends."""
    with server_process(app, env, factory=factory, loop=loop) as (base, _):
        yield base


@contextmanager
def server_process(
    app: str, env: dict[str, str], *, factory: bool = False, loop: str = SERVE_LOOP
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``server``, yielding the uvicorn process too (its ``pid`` is the server's own: one
    process, no reloader), for measurements that watch the server's memory."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        loop,
        "--http",
        "httptools",
        "--no-access-log",
        # As ``ipledge serve`` runs (``IPLEDGE_PROXY_HEADERS`` off by default), for both servers.
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    if factory:
        cmd.append("--factory")
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{app} did not start:\n{log.read().decode()[-3000:]}")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


_LUA = r"""
local requests = {}
local counter = 0
local thread_index = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_index)
  thread_index = thread_index + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open("%(requests_file)s", "r"))
  local all = {}
  for line in f:lines() do table.insert(all, line) end
  f:close()
  -- Each thread takes every n-th request, so no two threads send the same one.
  local n = %(threads)d
  for i = 1 + id, #all, n do table.insert(requests, all[i]) end
  if #requests == 0 then requests = all end
end

local function decode(line)
  local method, path, headers, body = line:match("^(%%S+)\t(%%S+)\t([^\t]*)\t?(.*)$")
  local h = {}
  for k, v in headers:gmatch("([^=;]+)=([^;]*)") do h[k] = v end
  if body == "" then body = nil end
  return method, path, h, body
end

local cache = {}
request = function()
  counter = counter + 1
  local i = ((counter - 1) %% #requests) + 1
  local req = cache[i]
  if req == nil then
    local method, path, h, body = decode(requests[i])
    req = wrk.format(method, path, h, body)
    cache[i] = req
  end
  return req
end

done = function(summary, latency, requests)
  local out = io.open("%(result_file)s", "w")
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
  out:close()
end
"""


def _encode(req: Request) -> str:
    headers = ";".join(f"{k}={v}" for k, v in req.headers.items())
    line = f"{req.method}\t{req.path}\t{headers}"
    if req.body is not None:
        if "\t" in req.body or "\n" in req.body:
            raise ValueError("request bodies must be single-line JSON")
        line += "\t" + req.body
    return line


def load(
    base: str,
    requests: list[Request],
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    server_pid: int | None = None,
) -> LoadResult:
    """Drive ``base`` with wrk; requests are sent in order, each at most once unless the run
    outlasts the list, in which case it wraps around. With ``server_pid``, the run's CPU per
    request is measured too (``CpuWatch``)."""
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        req_file = Path(tmp) / "requests.tsv"
        req_file.write_text("\n".join(_encode(r) for r in requests) + "\n")
        result_file = Path(tmp) / "result.json"
        script = Path(tmp) / "driver.lua"
        script.write_text(
            _LUA % {"requests_file": req_file, "result_file": result_file, "threads": threads}
        )
        watch = CpuWatch(server_pid) if server_pid is not None else None
        proc = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        if proc.returncode != 0 or not result_file.exists():
            raise RuntimeError(f"wrk failed: {proc.stdout}\n{proc.stderr}")
        data = json.loads(result_file.read_text())
    duration_s = data["duration_us"] / 1e6
    result = LoadResult(
        rps=data["requests"] / duration_s,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=data["errors"],
    )
    return watch.stop(result) if watch is not None else result


def time_per_call(fn: Callable[[], Any], *, min_seconds: float = 0.5) -> float:
    """Seconds per call of ``fn``, measured over at least ``min_seconds`` (best of 3 batches)."""
    fn()
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds / 3:
            break
        batch *= 4
    best = elapsed / batch
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - start) / batch)
    return best


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


def median(values: list[float]) -> float:
    return statistics.median(values)
