"""What a hostile or careless client does around the body rather than in it: a declared content
coding, a header that must appear once sent twice, a number or nesting that JSON parsing gives
up on, a client that hangs up mid-body. Each gets a clean problem (or, for the hang-up, nothing
at all) and changes nothing; none is a 500 or names the service's internals.
"""

from __future__ import annotations

import gzip
import json

import pytest

from app.core import metrics
from app.core.middleware import RequestMiddleware
from tests.conftest import problem_of
from tests.security.openapi_walk import BY_LABEL, OPERATIONS, Place, key_for, refused_at

WITH_BODY = [op.label for op in OPERATIONS if op.body_schema is not None]
BODY = Place(("body",), {})


@pytest.mark.parametrize("label", WITH_BODY)
async def test_a_content_coding_is_415(client, make_key, label):
    """The service reads bodies as they are sent (identity): a body declared gzip (whether or
    not it is) is not read as if the header were absent, nor inflated."""
    operation = BY_LABEL[label]
    request = operation.request(await key_for(make_key, operation))
    plain = request["content"]
    failures = []
    for coding, content in {
        "gzip": gzip.compress(plain),
        "gzip (a plain body)": plain,
        "deflate": plain,
        "br": plain,
        "identity, gzip": plain,
    }.items():
        name = coding.split(" (")[0]
        headers = {**request["headers"], "Content-Encoding": name}
        response = await client.request(**{**request, "headers": headers, "content": content})
        wrong = refused_at(response, BODY, status=415)
        if wrong:
            failures.append(f"{coding}: {wrong}")
    assert not failures, "\n".join(failures)


async def test_identity_coding_is_read(client, make_key):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/api-keys",
        json={"role": "securitization", "name": "identity"},
        headers={**admin, "Content-Encoding": "identity"},
    )
    assert response.status_code == 201, response.text


async def test_a_gzip_body_changes_nothing(client, make_key, conn):
    admin = await make_key("admin")
    before = await conn.fetchval("SELECT count(*) FROM api_keys")
    body = json.dumps({"role": "securitization", "name": "zipped"}).encode()
    for content in (gzip.compress(body), body):
        response = await client.post(
            "/v1/api-keys",
            content=content,
            headers={**admin, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 415, response.text
        assert response.headers.get("accept-encoding") == "identity"
    assert await conn.fetchval("SELECT count(*) FROM api_keys") == before


@pytest.mark.parametrize("header", ["Authorization", "Idempotency-Key", "If-Match"])
async def test_a_header_sent_twice_is_refused_and_changes_nothing(client, make_key, conn, header):
    """Two ``Authorization``, ``Idempotency-Key`` or ``If-Match`` headers: which one counts
    would be up to whichever component reads them (a proxy may take one, the service another).
    The request is refused, whatever the two say."""
    admin = await make_key("admin")
    other = await make_key("securitization")
    values = {
        "Authorization": [admin["Authorization"], other["Authorization"]],
        "Idempotency-Key": ["first-key", "second-key"],
        "If-Match": ['"1"', '"2"'],
    }[header]
    before = await conn.fetchval("SELECT count(*) FROM api_keys")
    headers = [(name, value) for name, value in admin.items() if name != header]
    headers += [(header, value) for value in values]
    response = await client.post(
        "/v1/api-keys", json={"role": "securitization", "name": "twice"}, headers=headers
    )
    assert refused_at(response, Place(("header", header), {})) is None, response.text
    assert await conn.fetchval("SELECT count(*) FROM api_keys") == before
    # The same header once is fine.
    once = [(name, value) for name, value in headers if name != header] + [(header, values[0])]
    if header == "If-Match":
        once = [(name, value) for name, value in once if name != "If-Match"]
    response = await client.post(
        "/v1/api-keys", json={"role": "securitization", "name": "once"}, headers=once
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("an integer of 5000 digits", b'{"name": ' + b"9" * 5000 + b"}"),
        ("arrays nested 5000 deep", b"[" * 5000 + b"]" * 5000),
        ("objects nested 5000 deep", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ],
)
async def test_json_the_parser_gives_up_on_is_422_naming_no_internals(
    client, make_key, name, content
):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/api-keys", content=content, headers={**admin, "Content-Type": "application/json"}
    )
    assert refused_at(response, BODY) is None, response.text
    text = response.text.lower()
    for internal in ("sys.", "set_int_max_str_digits", "recursion", "unicode string"):
        assert internal not in text, (name, response.text)


async def test_a_client_that_hangs_up_mid_body_is_no_server_error(
    app, runtime, make_key, monkeypatch
):
    """A client that disconnects before its body is complete is not the service failing: no
    error is logged, no 500 is counted, and nothing is sent to the closed connection."""
    admin = await make_key("admin")
    middleware = app.build_middleware_stack()
    while not isinstance(middleware, RequestMiddleware):
        middleware = middleware.app
    logged: list[tuple[str, dict]] = []

    class Recorder:
        def error(self, event: str, **kw: object) -> None:
            logged.append((event, kw))

        def info(self, event: str, **kw: object) -> None:
            pass

    monkeypatch.setattr("app.core.middleware.log", Recorder())
    observed: list[int] = []
    monkeypatch.setattr(
        metrics, "observe_request", lambda method, route, status, elapsed: observed.append(status)
    )
    messages = iter([{"type": "http.request", "body": b'{"role": "secur', "more_body": True}])

    async def receive() -> dict:
        return next(messages, {"type": "http.disconnect"})

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/api-keys",
        "raw_path": b"/v1/api-keys",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"40"),
            (b"authorization", admin["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "app": app,
    }
    await middleware(scope, receive, send)
    assert logged == []
    assert observed and all(status < 500 for status in observed), observed
    assert sent == []


@pytest.mark.parametrize(
    "form",
    [
        "{%s}",
        "urn:uuid:%s",
        "%s-without-hyphens",
        " %s",
    ],
)
async def test_an_id_in_the_path_is_written_one_way(desk, form):
    """An id is the 8-4-4-4-12 hexadecimal form the service gives out (either case): braces,
    a URN prefix or the hyphens left out name no resource, so one resource has one address
    (for caches, logs and Idempotency-Key hashes alike)."""
    application = await desk.create()
    canonical = application["id"]
    hyphenless = form == "%s-without-hyphens"
    written = canonical.replace("-", "") if hyphenless else form % canonical
    response = await desk.client.get(f"/v1/applications/{written}", headers=desk.rm)
    assert response.status_code == 404, response.text
    assert problem_of(response)["detail"] == "no such application"
    for same in (canonical, canonical.upper()):
        response = await desk.client.get(f"/v1/applications/{same}", headers=desk.rm)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic Zm9vOmJhcg==", "Bearer ipk_00000000000000000000000000000000_nope", "Bearer x"],
)
async def test_a_401_names_the_bearer_scheme(client, authorization):
    """RFC 9110 (11.6.1): a 401 carries WWW-Authenticate, which is how a client learns what
    to send."""
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v1/applications", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers.get("www-authenticate", "").startswith("Bearer")
    assert problem_of(response)["type"].endswith("/problems/unauthenticated")


@pytest.mark.parametrize(
    "query",
    [
        "state=draft&state=submitted",
        "limit=5&limit=200",
        "state=draft&st%61te=submitted",
    ],
)
async def test_a_query_parameter_named_twice_is_refused(desk, query):
    """No query parameter takes a list: ``?state=draft&state=submitted`` filtered by the last
    value alone, a careless client's list silently narrower (or wider) than it asked for."""
    await desk.create()
    response = await desk.client.get(f"/v1/applications?{query}", headers=desk.rm)
    name = query.split("=")[0]
    assert refused_at(response, Place(("query", name), {})) is None, response.text
    assert "once" in problem_of(response)["detail"]
    single = await desk.client.get("/v1/applications?state=draft&limit=5", headers=desk.rm)
    assert single.status_code == 200, single.text
    assert single.json()["items"]
