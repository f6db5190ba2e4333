"""Health, readiness, metrics and logs."""

import json
import logging

import structlog

from app.core import logging as app_logging
from app.migrate import head_revision


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_reports_migration_head(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration"] == body["expected_migration"] == head_revision()


async def test_readyz_is_503_when_schema_is_behind(client, conn):
    from app.migrate import known_revisions

    await conn.execute("UPDATE alembic_version SET version_num = $1", known_revisions()[-2])
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "migrations pending"


async def test_metrics_expose_http_traffic(client, make_key):
    admin = await make_key("admin")
    await client.get("/v1/api-keys", headers=admin)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'ipledge_http_requests_total{method="GET",route="/v1/api-keys",status="200"}' in text
    assert "ipledge_http_request_duration_seconds_bucket" in text


async def test_request_log_is_one_json_line_with_request_id(client, make_key, capsys, settings):
    app_logging.configure("INFO")
    from app.core.middleware import RequestMiddleware

    admin = await make_key("admin")
    # The session app was built with the access log off; switch it on for this request.
    middleware = client._transport.app.middleware_stack
    while middleware is not None and not isinstance(middleware, RequestMiddleware):
        middleware = getattr(middleware, "app", None)
    assert middleware is not None
    middleware.access_log = True
    try:
        await client.get("/v1/api-keys", headers={**admin, "X-Request-ID": "log-me"})
    finally:
        middleware.access_log = False
        logging.getLogger().handlers.clear()
        # The JSON logger wrote to this test's captured stdout, which closes with the test.
        structlog.reset_defaults()
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    [entry] = [e for e in lines if e.get("request_id") == "log-me"]
    assert entry["status"] == 200 and entry["route"] == "/v1/api-keys"
    assert entry["key_id"] == admin["X-Key-Id"]
    assert "ipk_" not in json.dumps(lines)  # the key itself is never logged
