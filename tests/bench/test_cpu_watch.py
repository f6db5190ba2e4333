"""The bench's CPU accounting: what a process burns during a run, per request."""

import subprocess
import sys
import time

from bench.harness import CpuWatch, LoadResult


def _result(requests: int) -> LoadResult:
    return LoadResult(rps=0.0, p50_ms=0.0, p99_ms=0.0, requests=requests, errors=0)


def test_a_busy_process_is_charged_its_cpu_per_request():
    # Busy for about 0.3 s of CPU, then waits to be told to exit.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
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
        watch = CpuWatch(proc.pid)
        assert proc.stdout.readline().strip() == "done"
        result = watch.stop(_result(100))
    finally:
        proc.communicate("")
    # 0.3 s over 100 requests is 3 ms each; the start-up before the watch is not counted.
    assert result.server_cpu_ms is not None
    assert 2.0 <= result.server_cpu_ms <= 4.5


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
