"""Schemathesis against the served OpenAPI document, in-process, on real PostgreSQL.

Every operation is called with generated requests (valid ones and deliberately invalid ones),
with a valid key of a role chosen among those that may call it (now and then one that may not),
and with path ids that are sometimes real records of a small bank (tests/security/world.py),
so that handlers run, not only the 404 path. Each response must:

- not be a server error;
- have a status code and a content type the document lists for the operation;
- match the documented schema of its body (and headers);
- when the request was invalid, be refused (4xx);
- when it is an error, be an RFC 9457 problem (``application/problem+json`` with ``type``,
  ``title``, ``status`` equal to the response's, and ``detail``).

Generation leans on the edges where services break: dates are drawn from every year
0001-9999 and, often, from the edges of the accepted range (1990-01-01 … 2100-12-31) and beyond;
free text (every string with no format, enum or pattern) is often NUL, another control
character. With those, the fixed-seed run of the normal suite finds
the 500s such input once caused.

The run is short in the normal suite (``IPLEDGE_FUZZ_EXAMPLES`` examples per operation, 25 by
default, with a fixed seed); ``make fuzz`` raises the count and draws fresh examples.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from datetime import date
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.roles import Role
from app.main import create_app
from tests.conftest import make_settings as settings_with
from tests.security.world import build_world

EXAMPLES = int(os.environ.get("IPLEDGE_FUZZ_EXAMPLES", "25"))
# The normal suite replays the same examples every run; `make fuzz` explores.
DERANDOMIZE = os.environ.get("IPLEDGE_FUZZ_RANDOM", "") == ""

DOCUMENT = create_app(settings_with(), listen=False).openapi()
EDGE_DATES = [
    "0001-01-01",
    "1000-02-29",
    "1989-12-31",
    "1990-01-01",
    "2100-12-31",
    "2101-01-01",
    "9999-12-31",
]
HOSTILE_TEXT = ["\x00", "a\x00b", "\x07", "\x1b[2J", "tab\there", "\x7f", "\x85"]
TEXT_FORMAT = "ipledge-free-text"
schemathesis.openapi.format(
    "date",
    st.one_of(st.dates().map(date.isoformat), st.sampled_from(EDGE_DATES)),
)
schemathesis.openapi.format(
    TEXT_FORMAT,
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(HOSTILE_TEXT),
        st.tuples(st.text(max_size=10), st.sampled_from(HOSTILE_TEXT)).map("".join),
    ),
)


def _free_text_marked(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every plain string (no format, enum or pattern) in the hostile-text
    format, so that generation reaches for control characters often."""
    marked = copy.deepcopy(document)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"format", "enum", "pattern"} & node.keys():
                node["format"] = TEXT_FORMAT
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(marked)
    return marked


# The key is ours to send (a valid one of the drawn role), not a parameter to fuzz. An If-Match
# that is no entity-tag list names no version of the resource: 412, as RFC 9110 answers any
# If-Match that does not match (schemathesis's defaults, and 412).
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"with-security-parameters": False},
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "412"),
                    *("415", "422", "428", "429", "5xx"),
                ]
            }
        },
    }
)
SCHEMA = schemathesis.openapi.from_dict(_free_text_marked(DOCUMENT), config=CONFIG)
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in {"get", "put", "post", "patch", "delete"}
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _problem_failures(response: httpx.Response) -> list[str]:
    if response.status_code < 400:
        return []
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/problem+json":
        return [f"{response.status_code} answered as {media!r}, not application/problem+json"]
    try:
        body = response.json()
    except ValueError:
        return [f"{response.status_code} problem body is not JSON"]
    failures = []
    for member, kind in (("type", str), ("title", str), ("status", int), ("detail", str)):
        if not isinstance(body.get(member), kind):
            failures.append(f"problem member {member!r} missing or not a {kind.__name__}")
    if body.get("status") != response.status_code:
        failures.append(f"problem status {body.get('status')} != {response.status_code}")
    if isinstance(body.get("type"), str) and "/problems/" not in body["type"]:
        failures.append(f"problem type {body['type']!r} does not end in /problems/<slug>")
    return failures


def _request(case: Any, headers: dict[str, str]) -> dict[str, Any]:
    sent = case.as_transport_kwargs(base_url="http://ipledge.test")
    out_headers = {
        k: v for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"
    }
    out_headers.update(headers)
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "params": sent.get("params") or None,
        "headers": out_headers,
    }
    if "json" in sent:
        request["content"] = json.dumps(sent["json"]).encode()
        out_headers.setdefault("Content-Type", "application/json")
    elif sent.get("data") is not None:
        data = sent["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    return request


@pytest.fixture
async def world(client, make_key, conn, clock):
    return await build_world(client, make_key, conn, clock)


@pytest.mark.parametrize("label", OPERATIONS)
async def test_operation_keeps_its_contract(client, world, label):
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None, label
    # Public operations (health, metrics) have no x-roles: any key, or none, will do.
    documented = DOCUMENT["paths"][operation.path][operation.method]
    allowed = [Role(r) for r in documented.get("x-roles", list(Role))]
    seeded = {p.name: world.ids[p.name] for p in operation.path_parameters if p.name in world.ids}
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        if seeded:
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=seeded))
    roles = (
        st.one_of(st.sampled_from(allowed), st.sampled_from(list(Role)))
        if len(allowed) < 6
        else st.sampled_from(allowed)
    )
    loop = asyncio.get_running_loop()

    def send(request: dict[str, Any]) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(client.request(**request), loop)
        return future.result(timeout=60)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def explore(data: st.DataObject) -> None:
        case = data.draw(st.one_of(strategies), label="case")
        role = data.draw(roles, label="role")
        response = send(_request(case, world.keys[role]))
        problems = _problem_failures(response)
        assert not problems, f"{case.as_curl_command()} as {role.value}: {problems}"
        case.validate_response(response, checks=CHECKS)

    await asyncio.to_thread(explore)


STATEFUL_STEPS = int(os.environ.get("IPLEDGE_FUZZ_STATEFUL_EXAMPLES", "15"))


async def test_linked_operations_keep_their_contract(client, world):
    """Stateful: sequences of calls that feed one response's ids into the next request, along
    the links schemathesis infers from the document (a created resource's ``id`` into the
    operations on it), each call with a key of a role that may make it."""
    loop = asyncio.get_running_loop()
    base = SCHEMA.as_state_machine()
    assert base.bundles, "no links between operations: nothing to chain"

    def role_for(case: Any) -> Role:
        documented = DOCUMENT["paths"][case.operation.path][case.operation.method]
        allowed = [Role(r) for r in documented.get("x-roles", [Role.ADMIN.value])]
        return Role.ADMIN if Role.ADMIN in allowed else allowed[0]

    class Machine(base):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Any:
            role = role_for(case)
            request = _request(case, world.keys[role])
            future = asyncio.run_coroutine_threadsafe(client.request(**request), loop)
            response = future.result(timeout=60)
            problems = _problem_failures(response)
            assert not problems, f"{case.as_curl_command()} as {role.value}: {problems}"
            return schemathesis.Response.from_httpx(response, verify=False)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error, *CHECKS[1:5]])

    run = settings(
        max_examples=STATEFUL_STEPS,
        stateful_step_count=6,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    await asyncio.to_thread(Machine.run, settings=run)
