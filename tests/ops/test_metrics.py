"""Metrics an operator can rely on: /metrics answers with the database down, can be
protected by a token, counts problems by type and the pool's use, sums every process of
``serve --workers 2``; the worker serves its health and the business gauges it computes."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time

import httpx

from tests.ops.conftest import app_client, free_port, ipledge, wait_http

UNKNOWN_KEY = "ipk_" + "0" * 32 + "_" + "s" * 43


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_answer_while_the_database_is_down():
    # The database's address answers every connection by hanging up at once: every database
    # call fails, and each attempt is counted, so what /metrics does is seen, not timed.
    attempts = 0

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, app_client(f"postgresql://postgres@127.0.0.1:{port}/none") as http:
        before = attempts
        response = await http.get("/metrics")
        assert response.status_code == 200
        assert "ipledge_db_pool_size 4.0" in response.text
        assert attempts == before  # /metrics never waits on the database
        assert (await http.get("/readyz")).status_code == 503
        assert attempts > before  # while /readyz asks it, at this address


async def test_metrics_token(database_url):
    async with app_client(database_url, metrics_token="scrape-me") as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200 and "ipledge_http_requests_total" in right.text


async def test_problems_by_type_and_pool_use_are_counted(database_url):
    series = 'ipledge_problems_total{status="401",type="unauthenticated"}'
    async with app_client(database_url) as http:
        before = value((await http.get("/metrics")).text, series)
        for _ in range(3):
            response = await http.get(
                "/v1/api-keys", headers={"Authorization": f"Bearer {UNKNOWN_KEY}"}
            )
            assert response.status_code == 401
        text = (await http.get("/metrics")).text
    assert value(text, series) == before + 3
    assert value(text, 'ipledge_db_pool_connections{state="idle"}') >= 1


def test_two_server_processes_answer_the_same_totals(database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ipledge(
        "serve", "--port", str(port), "--workers", "2", env={"IPLEDGE_DATABASE_URL": database_url}
    )
    try:
        wait_http(f"{base}/healthz")
        time.sleep(1.0)  # both processes up
        for _ in range(40):  # a new connection each: the kernel spreads them
            assert httpx.get(f"{base}/healthz").status_code == 200
        pattern = re.compile(r'ipledge_http_requests_total\{[^}]*route="/healthz"[^}]*\} (\S+)')
        seen = set()
        for _ in range(6):
            text = httpx.get(f"{base}/metrics").text
            seen.add(sum(float(v) for v in pattern.findall(text)))
        # Every scrape, whichever process answers it, sums both (the readiness polls of
        # wait_http are /healthz requests too: at least 41).
        assert len(seen) == 1 and seen.pop() >= 41, seen
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_the_worker_serves_its_health_and_the_business_gauges(database_url):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = ipledge(
        "worker",
        env={
            "IPLEDGE_DATABASE_URL": database_url,
            "IPLEDGE_WORKER_METRICS_PORT": str(port),
            "IPLEDGE_GAUGES_INTERVAL_S": "0.5",
            "IPLEDGE_METRICS_TOKEN": "scrape-me",
        },
    )
    try:
        health = wait_http(f"{base}/healthz")
        assert json.loads(health.text)["status"] == "ok"
        assert httpx.get(f"{base}/metrics").status_code == 401
        auth = {"Authorization": "Bearer scrape-me"}
        deadline = time.monotonic() + 20
        while True:
            text = httpx.get(f"{base}/metrics", headers=auth).text
            done = 'ipledge_job_last_success_timestamp_seconds{job="business_gauges"}' in text
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done, text[-2000:]
        assert value(text, "ipledge_business_gauges_updated_timestamp_seconds") > time.time() - 60
        assert "ipledge_webhook_backlog " in text
        assert 'ipledge_applications_sla{sla_state="running"}' in text
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
