"""The committed OpenAPI document is the served one, and every operation is documented."""

import ast
import inspect
import json
import re
import textwrap

from app import routers
from app.cli import OPENAPI_PATH
from app.core import idempotency
from app.main import openapi_document


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


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _header_parameters(operation):
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


def test_every_post_declares_its_idempotency_key():
    document = json.loads(openapi_document())
    for path, method, operation in _operations(document):
        if not (path.startswith("/v1") and method == "post"):
            continue
        parameter = _header_parameters(operation).get("Idempotency-Key")
        assert parameter is not None, (method, path)
        assert parameter["required"] is False
        assert parameter["schema"]["pattern"] == idempotency.KEY_PATTERN
        success = next(r for status, r in operation["responses"].items() if status[0] == "2")
        assert "Idempotent-Replayed" in success["headers"], (method, path)


def test_every_post_declares_the_idempotency_problems():
    """Any keyed POST may meet its key still running (409) or used for another request (422),
    whatever the operation: a caller generating from the document must see both."""
    document = json.loads(openapi_document())
    for path, method, operation in _operations(document):
        if not (path.startswith("/v1") and method == "post"):
            continue
        responses = operation["responses"]
        assert "`idempotency-request-in-progress`" in responses["409"]["description"], path
        assert "Retry-After" in responses["409"]["headers"], path
        assert "`idempotency-key-reused`" in responses["422"]["description"], path


def test_every_response_declares_its_request_id():
    document = json.loads(openapi_document())
    assert set(document["components"]["headers"]) >= {"X-Request-ID", "Retry-After"}
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response["headers"], (method, path, status)
            if status == "401":
                assert "WWW-Authenticate" in response["headers"], (method, path)


def test_every_v1_operation_may_answer_503_with_retry_after():
    """Every /v1 operation runs on the database, which may be away or busy."""
    document = json.loads(openapi_document())
    for path, method, operation in _operations(document):
        if path.startswith("/v1"):
            unavailable = operation["responses"].get("503")
            assert unavailable is not None, (method, path)
            assert "Retry-After" in unavailable["headers"], (method, path)
            assert "`lock-timeout`" in unavailable["description"]


def _resolve(node, namespace):
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return None if owner is None else getattr(owner, node.attr, None)
    return None


def _reaches(function, found, seen):
    """Whether ``function``, or any function of ``app`` it names, has a node ``found`` is true
    of: the code, followed through the modules, not the route's rule."""
    function = getattr(function, "__func__", function)
    if not inspect.isfunction(function) or function in seen:
        return False
    if not function.__module__.startswith("app."):
        return False
    seen.add(function)
    definition = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    for statement in definition.body:  # the decorators (and so the rule) left out
        for node in ast.walk(statement):
            if found(node):
                return True
            if isinstance(node, (ast.Name, ast.Attribute)):
                target = _resolve(node, function.__globals__)
                if target is not None and _reaches(target, found, seen):
                    return True
    return False


def _reads_if_match(node):
    """``ctx.if_match``, as ``app.core.concurrency`` reads it."""
    return isinstance(node, ast.Attribute) and node.attr == "if_match"


def _names_header(name):
    def found(node):
        if isinstance(node, ast.keyword):
            return node.arg == name
        return isinstance(node, ast.Constant) and node.value == name

    return found


def _declared(document, operations_with):
    return {
        operation["operationId"]
        for _path, _method, operation in _operations(document)
        if operations_with(operation)
    }


def _success_headers(operation):
    return {
        name
        for status, response in operation["responses"].items()
        if status in ("200", "201")
        for name in response["headers"]
    }


def test_if_match_etag_and_location_are_declared_where_the_code_has_them():
    """If-Match on exactly the operations that read it, ETag and Location on exactly those
    whose answers set them: a marker on a rule that is forgotten or left behind fails here."""
    document = json.loads(openapi_document())
    routes = [route for router in routers.ALL for route in router.routes]
    for header, found, declared in (
        ("If-Match", _reads_if_match, lambda op: "If-Match" in _header_parameters(op)),
        ("ETag", _names_header("ETag"), lambda op: "ETag" in _success_headers(op)),
        ("Location", _names_header("Location"), lambda op: "Location" in _success_headers(op)),
    ):
        in_code = {route.name for route in routes if _reaches(route.endpoint, found, set())}
        assert in_code, header
        assert _declared(document, declared) == in_code, header
