"""The committed OpenAPI document is the served one, and every operation is documented."""

import json
import re

from app.cli import OPENAPI_PATH, openapi_document


def test_committed_document_is_current():
    assert OPENAPI_PATH.read_text(encoding="utf-8") == openapi_document(), (
        "openapi/openapi.json is stale: run `ipledge openapi`"
    )


async def test_served_document_matches_committed(client):
    response = await client.get("/openapi.json")
    assert response.json() == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert response.json()["openapi"].startswith("3.1")


def test_operations_have_stable_readable_ids_and_access_rules():
    document = json.loads(openapi_document())
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            op_id = operation["operationId"]
            assert re.fullmatch(r"[a-z][a-z0-9_]*", op_id), op_id
            ids.append(op_id)
            if path.startswith("/v1"):
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert operation["x-roles"], (method, path)
                assert "401" in operation["responses"] and "403" in operation["responses"]
    assert len(ids) == len(set(ids))
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_problems_are_documented_as_they_are_sent():
    """Every problem answer is application/problem+json with the Problem schema; the document
    names no application/json form of it, which the service never sends."""
    document = json.loads(openapi_document())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                content = response.get("content") or {}
                if not (path.startswith("/v1") and status.startswith("4")):
                    continue
                assert list(content) == ["application/problem+json"], (method, path, status)
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
