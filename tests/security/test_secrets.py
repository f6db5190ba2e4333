"""Secrets appear once: an API key and a webhook signing secret are in the response that
creates (or rotates) them and nowhere after — not in reads, lists, the audit trail, nor the
JSON log lines written while they are used.

tests/core/test_auth.py checks the key is stored as a hash and absent from the key list;
tests/webhooks/test_endpoints_api.py that the secret is absent from the endpoint's read, the
endpoint list and its creation and rotation audit events. These add the rest: the audit trail
of key issuing and revocation, the lists after a revocation or a rotation, deliveries and
events, and the log lines.
"""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from app.core import logging as app_logging
from app.core.auth import parse_key
from app.core.middleware import RequestMiddleware


async def _everything_an_admin_can_read(client, admin, endpoint_id: str) -> str:
    """The text of every read an admin has that could carry a key or a secret."""
    paths = [
        "/v1/api-keys?limit=200",
        "/v1/audit-events?limit=200",
        "/v1/audit-events?entity_type=api_key&limit=200",
        "/v1/audit-events?entity_type=webhook_endpoint&limit=200",
        "/v1/webhook-endpoints?limit=200",
        f"/v1/webhook-endpoints/{endpoint_id}",
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
        "/v1/webhook-events?limit=200",
    ]
    texts = []
    for path in paths:
        response = await client.get(path, headers=admin)
        assert response.status_code == 200, (path, response.text)
        texts.append(response.text)
    return "\n".join(texts)


@pytest.fixture
def log_lines(monkeypatch, client):
    """The service's JSON log output, at DEBUG, with the access log on, in a buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    app_logging.configure("DEBUG")
    # Module loggers keep the configuration of their first use (an earlier test's, maybe
    # writing to a stream closed since): give each a fresh one for this test.
    for name, module in list(sys.modules.items()):
        proxy = getattr(module, "log", None) if name.startswith("app.") else None
        if isinstance(proxy, structlog._config.BoundLoggerLazyProxy):
            monkeypatch.setattr(module, "log", structlog.get_logger(*proxy._logger_factory_args))
    app = client._transport.app
    if app.middleware_stack is None:  # built on the first request; this may come before it
        app.middleware_stack = app.build_middleware_stack()
    middleware = app.middleware_stack
    while middleware is not None and not isinstance(middleware, RequestMiddleware):
        middleware = getattr(middleware, "app", None)
    assert middleware is not None
    monkeypatch.setattr(middleware, "access_log", True)
    yield lambda: [
        json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")
    ]
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


async def test_keys_and_secrets_appear_only_where_they_are_created(client, make_key, log_lines):
    admin = await make_key("admin")
    created = await client.post(
        "/v1/api-keys", json={"role": "relationship_manager", "subject": "RM-77"}, headers=admin
    )
    assert created.status_code == 201
    key = created.json()["key"]
    parsed = parse_key(key)  # the secret may itself hold "_" (URL-safe base64)
    assert parsed is not None
    key_secret = parsed[1]
    # The key is used (and fails once, mistyped: a wrong key is not logged either).
    rm = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/v1/applications", headers=rm)).status_code == 200
    typo = {"Authorization": f"Bearer {key[:-1]}Z"}
    assert (await client.get("/v1/applications", headers=typo)).status_code == 401

    endpoint = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["loan.disbursed"]},
        headers=admin,
    )
    assert endpoint.status_code == 201
    first_secret = endpoint.json()["secret"]
    endpoint_id = endpoint.json()["id"]
    rotated = await client.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    second_secret = rotated.json()["secret"]
    assert second_secret != first_secret
    revoked = await client.post(f"/v1/api-keys/{created.json()['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and key not in revoked.text

    reads = await _everything_an_admin_can_read(client, admin, endpoint_id)
    assert created.json()["id"] in reads and endpoint_id in reads  # the reads do show them
    for secret in (key, key_secret, first_secret, second_secret):
        assert secret not in reads
    assert '"secret"' not in reads and '"key"' not in reads

    lines = log_lines()
    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) >= 8, lines  # every request above was logged
    logged = json.dumps(lines)
    admin_token = admin["Authorization"].removeprefix("Bearer ")
    for secret in (key, key_secret, first_secret, second_secret, admin_token):
        assert secret not in logged
    assert "Bearer" not in logged and "authorization" not in logged.lower()


async def test_another_caller_reusing_the_idempotency_key_does_not_get_the_key(client, make_key):
    """The first response is kept for Idempotency-Key replays to its caller; another admin
    sending the same Idempotency-Key and body gets a key of their own, never the first."""
    admin = await make_key("admin")
    other_admin = await make_key("admin")
    headers = {**admin, "Idempotency-Key": "issue-once-0001"}
    first = await client.post("/v1/api-keys", json={"role": "securitization"}, headers=headers)
    assert first.status_code == 201
    again = await client.post(
        "/v1/api-keys",
        json={"role": "securitization"},
        headers={**other_admin, "Idempotency-Key": "issue-once-0001"},
    )
    assert again.status_code == 201
    assert first.json()["key"] not in again.text


async def test_a_replay_never_shows_a_secret_again_and_none_is_kept_for_it(client, make_key, conn):
    """A key or a signing secret is shown once: the answer kept for an Idempotency-Key holds
    it as null (only its hash, or the endpoint's own record, holds it), so the replay of a
    creation or a rotation answers everything but the secret."""
    admin = await make_key("admin")

    async def twice(path: str, body: dict | None, key: str, secret: str) -> tuple[dict, str]:
        headers = {**admin, "Idempotency-Key": key}
        first = await client.post(path, json=body, headers=headers)
        again = await client.post(path, json=body, headers=headers)
        assert first.status_code == again.status_code and first.status_code in (200, 201)
        assert again.headers["idempotent-replayed"] == "true"
        shown = first.json()[secret]
        assert shown and again.json() == {**first.json(), secret: None}
        return first.json(), shown

    created, api_key = await twice(
        "/v1/api-keys", {"role": "securitization"}, "issue-key-once", "key"
    )
    endpoint, signing = await twice(
        "/v1/webhook-endpoints",
        {"url": "https://bureau.example/hooks", "event_types": ["subsidy.claim.created"]},
        "register-once",
        "secret",
    )
    _, rotated = await twice(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", None, "rotate-once", "secret"
    )
    kept = await conn.fetch("SELECT body FROM idempotency_records")
    stored = b"".join(bytes(r["body"]) for r in kept).decode()
    assert created["id"] in stored and endpoint["id"] in stored
    for secret in (api_key, parse_key(api_key)[1], signing, rotated):
        assert secret not in stored


async def test_an_unexpected_error_logs_no_key_secret_header_or_body(
    client, make_key, log_lines, monkeypatch
):
    """A request that fails unexpectedly is logged with its traceback, but without the
    traceback's local variables (the request's scope, its headers and its body), and every
    line stays short."""
    from app.core.logging import MAX_LINE
    from app.enterprises import service as enterprises_service

    admin = await make_key("admin")
    created = await client.post("/v1/api-keys", json={"role": "bank_system"}, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    endpoint = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["loan.disbursed"]},
        headers=admin,
    )
    assert endpoint.status_code == 201
    webhook_secret = endpoint.json()["secret"]

    async def broken(ctx, *, enterprise_in):
        held = {"key": key, "secret": webhook_secret, "filler": "x" * 50_000}  # locals
        raise RuntimeError(f"the enterprise store broke ({len(held)} values held)")

    monkeypatch.setattr(enterprises_service, "create_enterprise", broken)
    marker = "Body-Marker-" + "q" * 40
    body = {
        "name": marker,
        "credit_code": "9144030071526726XG",
        "district_code": "440307",
        "industry": "other",
        "high_tech": False,
        "cross_border": False,
    }
    failed = await client.post(
        "/v1/enterprises", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert failed.status_code == 500
    assert key not in failed.text and "Traceback" not in failed.text

    lines = log_lines()
    errors = [line for line in lines if line.get("message") == "unhandled error"]
    assert len(errors) == 1, lines
    [error] = errors
    assert error["exception"][0]["exc_type"] == "RuntimeError"  # the traceback is there
    assert all("locals" not in frame for frame in error["exception"][0]["frames"])
    admin_token = admin["Authorization"].removeprefix("Bearer ")
    text = json.dumps(lines)
    parsed = parse_key(key)
    assert parsed is not None
    for secret in (key, parsed[1], webhook_secret, admin_token, marker):
        assert secret not in text
    assert "Bearer" not in text and "authorization" not in text.lower()
    raw = [json.dumps(line, ensure_ascii=False) for line in lines]
    assert max(len(line) for line in raw) <= MAX_LINE


def test_the_redaction_policy_covers_every_kind_of_secret():
    from app.core.logging import MAX_LINE, MAX_VALUE, CappedJSONRenderer, redact, scrub

    secret_url = "postgresql://ipledge:Pa55-w0rd-Zq@db.internal:5432/ipledge"
    event = redact(
        None,
        "error",
        {
            "message": f"could not reach {secret_url}",
            "authorization": "Bearer ipk_" + "a" * 32 + "_tail",
            "headers": {"x-api-key": "k"},
            "body": b'{"name": "x"}',
            "nested": {"password": "hunter2", "note": "whsec_QUJDREVGRw=="},
            "long": "y" * 100_000,
        },
    )
    text = json.dumps(event)
    for secret in ("Pa55-w0rd-Zq", "ipk_aaaa", "hunter2", "QUJDREVGRw", '"x-api-key"'):
        assert secret not in text
    assert "db.internal" in event["message"]  # the host is kept: it helps
    assert len(event["long"]) < MAX_VALUE + 40
    assert scrub("Basic dXNlcjpwYXNz") == "Basic [redacted]"
    for password in ("it's-Zq", 'say"Zq', "at@Zq"):
        said = scrub(f"could not reach 'postgresql://ipledge:{password}@db.internal/ipledge'")
        assert "Zq" not in said and "db.internal/ipledge" in said
    line = CappedJSONRenderer()(
        None, "info", {"message": "m", **{f"k{i}": "v" * 900 for i in range(20)}}
    )
    assert len(line) <= MAX_LINE and json.loads(line)["message"] == "m"


# Generated passwords hold punctuation: a quote or a blank ended the redaction early, and the
# whole password was logged with the database on every failed pass.
@pytest.mark.parametrize(
    "password", ["Sup3r-S3cret-Pa55", "Sup3r'S3cret", 'Sup3r"S3cret', "Sup3r S3cret"]
)
async def test_a_worker_without_its_database_logs_no_password(monkeypatch, password):
    """With the database unreachable, every job and loop fails on each turn: each failure is
    one short line naming the error and the database without its password, and no traceback
    (the relay's passes included: it would write one every poll interval)."""
    import asyncio

    from app import worker
    from app.core.logging import MAX_LINE
    from app.core.runtime import Runtime
    from app.webhooks import relay
    from tests.conftest import make_settings

    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    app_logging.configure("INFO")
    monkeypatch.setattr(worker, "log", structlog.get_logger("ipledge.worker"))
    monkeypatch.setattr(relay, "log", structlog.get_logger("ipledge.webhooks"))
    settings = make_settings(
        database_url=f"postgresql://ipledge:{password}@127.0.0.1:9/ipledge",
        worker_poll_interval_s=0.2,
    )
    monkeypatch.setattr(worker.random, "uniform", lambda a, b: 0.0)  # no start-up spread
    runtime = Runtime.create(settings)
    stop = asyncio.Event()
    job = next(j for j in worker.JOBS if j.name == "idempotency_retention")
    tasks = [asyncio.create_task(worker._loop(job, runtime, stop))]
    tasks += [asyncio.create_task(worker._run_loop(lp, runtime, stop)) for lp in worker.LOOPS]
    try:
        for _ in range(100):
            await asyncio.sleep(0.1)
            seen = buffer.getvalue()
            if '"job failed"' in seen and '"webhook relay pass failed"' in seen:
                break
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.close()
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    lines = buffer.getvalue().splitlines()
    failures = [json.loads(line) for line in lines if "failed" in json.loads(line)["message"]]
    assert any(f["message"] == "job failed" for f in failures), lines
    assert "S3cret" not in buffer.getvalue()
    assert max(len(line) for line in lines) <= MAX_LINE
    job_failure = next(f for f in failures if f["message"] == "job failed")
    assert job_failure["error"] == "ConnectionRefusedError"
    assert job_failure["database"] == "postgresql://ipledge:[redacted]@127.0.0.1:9/ipledge"
    relay_failure = next(f for f in failures if f["message"] == "webhook relay pass failed")
    assert relay_failure["error"] == "ConnectionRefusedError"
    assert relay_failure["database"] == job_failure["database"]
    assert not [f for f in failures if "exception" in f], failures
