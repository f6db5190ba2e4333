"""Every error a caller can see is an RFC 9457 problem; bad input changes nothing."""

import httpx
import pytest

from app.core.routing import ApiRouter, public
from app.main import attach, create_app
from tests.conftest import problem_of, slug


class TestProblemShape:
    async def test_unknown_route_is_404_problem(self, client):
        response = await client.get("/v1/nothing-here")
        assert response.status_code == 404
        assert slug(response) == "not-found"
        assert response.headers["content-type"] == "application/problem+json"

    async def test_wrong_method_is_405_problem(self, client, make_key):
        admin = await make_key("admin")
        response = await client.delete("/v1/api-keys", headers=admin)
        assert response.status_code == 405
        assert slug(response) == "method-not-allowed"

    async def test_problem_carries_request_id(self, client):
        response = await client.get("/v1/api-keys", headers={"X-Request-ID": "trace-42"})
        assert response.headers["x-request-id"] == "trace-42"
        assert problem_of(response)["request_id"] == "trace-42"

    async def test_unsafe_request_id_is_replaced(self, client):
        response = await client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"})
        assert response.headers["x-request-id"] != "bad id; with spaces"
        assert len(response.headers["x-request-id"]) == 32


class TestBadBodies:
    async def test_malformed_json_is_422(self, client, make_key):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys",
            content=b'{"role": "admin",',
            headers={**admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        body = problem_of(response)
        assert body["errors"][0]["type"] == "json_invalid"

    @pytest.mark.parametrize("payload", [b"NaN", b'{"role": NaN}', b'{"role": Infinity}'])
    async def test_json_without_nan(self, client, make_key, payload):
        admin = await make_key("admin")
        response = await client.post(
            "/v1/api-keys", content=payload, headers={**admin, "Content-Type": "application/json"}
        )
        assert response.status_code == 422

    async def test_unknown_field_is_refused_not_dropped(self, client, make_key, conn):
        admin = await make_key("admin")
        before = await conn.fetchval("SELECT count(*) FROM api_keys")
        response = await client.post(
            "/v1/api-keys", json={"role": "admin", "rol": "typo"}, headers=admin
        )
        assert response.status_code == 422
        errors = problem_of(response)["errors"]
        assert errors[0]["loc"] == ["body", "rol"]
        assert errors[0]["type"] == "extra_forbidden"
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == before

    @pytest.mark.parametrize(
        "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
    )
    async def test_non_json_body_is_415(self, client, make_key, content_type):
        admin = await make_key("admin")
        headers = dict(admin)
        if content_type:
            headers["Content-Type"] = content_type
        response = await client.post("/v1/api-keys", content=b'{"role": "admin"}', headers=headers)
        assert response.status_code == 415
        assert slug(response) == "unsupported-media-type"

    async def test_json_with_charset_and_problem_suffix_accepted(self, client, make_key):
        admin = await make_key("admin")
        for ct in ["application/json; charset=utf-8", "application/merge-patch+json"]:
            response = await client.post(
                "/v1/api-keys", content=b'{"role": "admin"}', headers={**admin, "Content-Type": ct}
            )
            assert response.status_code == 201, ct

    async def test_declared_oversized_body_is_413(self, client, make_key, settings):
        admin = await make_key("admin")
        big = b'{"role": "admin", "name": "' + b"x" * settings.max_body_bytes + b'"}'
        response = await client.post(
            "/v1/api-keys", content=big, headers={**admin, "Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert slug(response) == "payload-too-large"

    async def test_streamed_oversized_body_is_413(self, client, make_key, settings):
        admin = await make_key("admin")

        async def chunks():
            yield b'{"role": "admin", "name": "'
            for _ in range(settings.max_body_bytes // 65536 + 2):
                yield b"x" * 65536
            yield b'"}'

        response = await client.post(
            "/v1/api-keys", content=chunks(), headers={**admin, "Content-Type": "application/json"}
        )
        assert response.status_code == 413

    async def test_deeply_nested_json_is_a_clean_422(self, client, make_key):
        admin = await make_key("admin")
        payload = b"[" * 100_000 + b"]" * 100_000
        response = await client.post(
            "/v1/api-keys", content=payload, headers={**admin, "Content-Type": "application/json"}
        )
        assert response.status_code in (413, 422)
        problem_of(response)


class TestUnexpectedErrors:
    async def test_500_is_a_problem_with_request_id_and_no_internals(self, runtime):
        router = ApiRouter()

        @router.get("/boom")
        @public
        async def boom() -> dict:
            raise RuntimeError("secret internals: SELECT * FROM api_keys")

        app = create_app(runtime.settings, listen=False)
        app.include_router(router)
        attach(app, runtime)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/boom", headers={"X-Request-ID": "req-500"})
        assert response.status_code == 500
        body = problem_of(response)
        assert body["request_id"] == "req-500"
        assert "SELECT" not in response.text and "secret" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"] == "req-500"
