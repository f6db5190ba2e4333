"""The OpenAPI document makes clients: ``ipledge-client`` is what its generator makes of the
committed document today, and openapi-python-client, a generator many callers use, makes a
complete client of it with no warning."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
from pathlib import Path

import ipledge_client as ic
import pytest
from ipledge_client import models
from ipledge_client._operations import OPERATION_IDS, AsyncOperations, Operations
from ipledge_client.problem_types import BY_SLUG

from app.config import PROJECT_ROOT

DOCUMENT = PROJECT_ROOT / "openapi" / "openapi.json"
GENERATOR = PROJECT_ROOT / ".venv" / "generator" / "bin" / "openapi-python-client"


def _generate_module():
    spec = importlib.util.spec_from_file_location(
        "client_generate", PROJECT_ROOT / "clients" / "python" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _operations() -> list[tuple[str, str, dict]]:
    document = json.loads(DOCUMENT.read_text())
    return [
        (method, path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
    ]


def _success_models(spec: dict) -> dict[str, str]:
    """Status → the schema of each JSON success answer."""
    found = {}
    for status, response in spec["responses"].items():
        schema = (response.get("content") or {}).get("application/json", {}).get("schema", {})
        if status.startswith("2") and "$ref" in schema:
            found[status] = schema["$ref"].rsplit("/", 1)[-1]
    return found


def test_the_committed_client_is_what_the_document_generates(capsys):
    """Fails when an operation or a schema changed without ``make client``; and when the model
    generator warns about the document."""
    assert _generate_module().check(DOCUMENT) == 0, capsys.readouterr().err


def test_the_idempotency_problems_are_one_class_each():
    """The document names them on every POST; the generated module reuses the transport's
    classes rather than making twins a caller's ``except`` would miss."""
    assert BY_SLUG["idempotency-key-reused"] is ic.IdempotencyKeyReused
    assert BY_SLUG["idempotency-request-in-progress"] is ic.IdempotencyRequestInProgress


def test_one_schema_per_model():
    schemas = json.loads(DOCUMENT.read_text())["components"]["schemas"]
    split = sorted(name for name in schemas if name.endswith(("-Input", "-Output")))
    assert not split, f"schemas split into request and response forms: {split}"


def test_every_operation_is_a_method_sync_and_async_with_its_answers_model():
    operations = _operations()
    assert sorted(OPERATION_IDS) == sorted(spec["operationId"] for _, _, spec in operations)
    class_name = _generate_module().class_name
    for _, _, spec in operations:
        name = spec["operationId"]
        assert callable(getattr(Operations, name)) and callable(getattr(AsyncOperations, name))
        for schema in _success_models(spec).values():
            assert hasattr(models, class_name(schema)), (name, schema)


def test_every_operation_that_honours_if_match_takes_if_match():
    for _, _, spec in _operations():
        declared = any(p["name"] == "If-Match" for p in spec.get("parameters", []))
        for cls in (Operations, AsyncOperations):
            method = getattr(cls, spec["operationId"])
            takes = "if_match" in inspect.signature(method).parameters
            assert takes == declared, (cls.__name__, spec["operationId"])


@pytest.mark.skipif(
    not GENERATOR.exists(), reason="make client-check (make test runs it) sets up the generator"
)
def test_openapi_python_client_makes_a_complete_client_without_warning(tmp_path: Path):
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(tmp_path / "client"),
            "--meta",
            "none",
            "--config",
            str(PROJECT_ROOT / "clients" / "python" / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    modules = {p.stem: p for p in (tmp_path / "client" / "api").rglob("*.py")}
    class_name = _generate_module().class_name
    for _, _, spec in _operations():
        module = modules.get(spec["operationId"])
        assert module is not None, f"no module for {spec['operationId']}"
        text = module.read_text()
        for status, schema in _success_models(spec).items():
            # The generator drops an answer whose model it could not make: here it made each.
            assert f"response_{status} = {class_name(schema)}.from_dict(" in text, (
                spec["operationId"],
                status,
            )
