"""The bench's CPU accounting: what a process burns during a run, per request."""

import subprocess
import sys
import time

from bench.harness import CpuWatch, LoadResult


def _result(requests: int) -> LoadResult:
    return LoadResult(rps=0.0, p50_ms=0.0, p99_ms=0.0, requests=requests, errors=0)


def test_a_busy_process_is_charged_its_cpu_per_request():
    # Started and idle first, so that its start-up is not in the watch; then, told to, busy
    # for 0.3 s of CPU.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "print('ready', flush=True)\n"
            "sys.stdin.readline()\n"
            "end = time.process_time() + 0.3\n"
            "while time.process_time() < end: pass\n"
            "print('done', flush=True)\n"
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        watch = CpuWatch(proc.pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        result = watch.stop(_result(100))
    finally:
        proc.communicate("")
    # 0.3 s over 100 requests is 3 ms each (the clock counts in ticks of 10 ms).
    assert result.server_cpu_ms is not None
    assert 2.8 <= result.server_cpu_ms <= 3.6


async def test_the_database_side_counts_what_postgresql_spends(conn):
    # The test database is on this machine, as the bench's is.
    watch = CpuWatch(None)
    assert watch.db_pids
    await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")
    result = watch.stop(_result(10))
    assert result.server_cpu_ms is None  # no server named, no server figure
    assert result.db_cpu_ms is not None and result.db_cpu_ms >= 10.0  # 0.1 s and more in all


def test_an_idle_process_costs_nothing_and_a_gone_one_gives_no_figure():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        idle = CpuWatch(proc.pid)
        time.sleep(0.2)
        assert idle.stop(_result(10)).server_cpu_ms < 1.0
        watch = CpuWatch(proc.pid)
    finally:
        proc.communicate("")
    assert watch.stop(_result(10)).server_cpu_ms is None
