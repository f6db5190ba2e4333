"""The client's transport against a scripted service (httpx's MockTransport): every POST gets
an Idempotency-Key that its retries repeat, retries happen only where they are safe and
useful, and problems come out as typed exceptions."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import ipledge_client as ic
import pytest
from ipledge_client import models
from ipledge_client.problem_types import InvalidStateTransition

PROBLEMS = "https://ipledge.example/problems/"
LPR = {
    "fixing_date": "2026-11-20",
    "one_year_bp": 300,
    "five_year_bp": 350,
    "created_at": "2026-11-20T10:00:00+08:00",
    "updated_at": "2026-11-20T10:00:00+08:00",
    "version": 1,
}


def problem(status: int, slug: str, **extra: object) -> httpx.Response:
    body = {"type": PROBLEMS + slug, "title": slug, "status": status, "detail": f"{slug}!"}
    return httpx.Response(
        status, json={**body, **extra}, headers={"content-type": "application/problem+json"}
    )


class Script:
    """Answers in turn, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(script: Callable[[httpx.Request], httpx.Response], **kw: object) -> ic.Client:
    http = httpx.Client(transport=httpx.MockTransport(script), base_url="http://svc")
    waits: list[float] = []
    api = ic.Client("http://svc", token="ipk_test", http=http, **kw)  # type: ignore[arg-type]
    api._http._sleep = waits.append  # no real waiting
    api.waits = waits  # type: ignore[attr-defined]
    return api


def created_enterprise() -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "id": "0190d5f0-0000-7000-8000-000000000001",
            "name": "Shenzhen Test Ltd",
            "credit_code": "91440300MA5FUT6H4B",
            "district_code": "440307",
            "industry": "other",
            "high_tech": True,
            "cross_border": False,
            "created_at": "2026-11-20T10:00:00+08:00",
            "version": 1,
        },
    )


ENTERPRISE = {
    "name": "Shenzhen Test Ltd",
    "credit_code": "91440300MA5FUT6H4B",
    "district_code": "440307",
    "industry": "other",
    "high_tech": True,
    "cross_border": False,
}


class TestIdempotencyKeys:
    def test_every_post_gets_a_fresh_key_and_its_retries_the_same(self):
        script = Script(
            httpx.ConnectError("refused"),
            problem(503, "service-unavailable"),
            created_enterprise(),
            created_enterprise(),
        )
        api = client_for(script)
        api.create_enterprise(ENTERPRISE)
        first_call = {r.headers["idempotency-key"] for r in script.requests[:3]}
        assert len(first_call) == 1  # the same key on each of its three tries
        api.create_enterprise(ENTERPRISE)
        assert script.requests[3].headers["idempotency-key"] not in first_call
        # The same bytes every time: the service sees one request.
        assert len({r.content for r in script.requests}) == 1

    def test_a_key_given_is_the_key_sent(self):
        script = Script(created_enterprise())
        client_for(script).create_enterprise(ENTERPRISE, idempotency_key="order-42")
        assert script.requests[0].headers["idempotency-key"] == "order-42"

    def test_a_token_function_is_asked_on_every_request(self):
        tokens = iter(["first", "second"])
        script = Script(*[httpx.Response(200, json={"items": [], "next_cursor": None})] * 2)
        http = httpx.Client(transport=httpx.MockTransport(script), base_url="http://svc")
        api = ic.Client("http://svc", token=lambda: next(tokens), http=http)
        api.list_lpr_fixings()
        api.list_lpr_fixings()
        sent = [r.headers["authorization"] for r in script.requests]
        assert sent == ["Bearer first", "Bearer second"]

    def test_reads_carry_none(self):
        script = Script(httpx.Response(200, json={"items": [], "next_cursor": None}))
        client_for(script).list_lpr_fixings()
        assert "idempotency-key" not in script.requests[0].headers
        assert script.requests[0].headers["authorization"] == "Bearer ipk_test"


class TestRetries:
    def test_retry_after_is_honoured(self):
        script = Script(
            httpx.Response(503, headers={"retry-after": "7"}), httpx.Response(200, json=LPR)
        )
        api = client_for(script)
        api.put_lpr_fixing("2026-11-20", {"one_year_bp": 300, "five_year_bp": 350})
        assert api.waits == [7.0]

    def test_retry_after_as_a_date(self):
        from datetime import UTC, datetime, timedelta
        from email.utils import format_datetime

        when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
        script = Script(
            httpx.Response(503, headers={"retry-after": when}), httpx.Response(200, json=LPR)
        )
        api = client_for(script)
        api.put_lpr_fixing("2026-11-20", {"one_year_bp": 300, "five_year_bp": 350})
        assert len(api.waits) == 1 and 17 < api.waits[0] <= 20

    def test_in_progress_is_waited_out_then_replayed(self):
        script = Script(problem(409, "idempotency-request-in-progress"), created_enterprise())
        api = client_for(script)
        assert api.create_enterprise(ENTERPRISE).name == "Shenzhen Test Ltd"
        assert len(script.requests) == 2

    def test_other_conflicts_are_not_retried(self):
        script = Script(problem(409, "invalid-state-transition"))
        with pytest.raises(InvalidStateTransition) as refused:
            client_for(script).review_application("a1")
        assert len(script.requests) == 1
        assert isinstance(refused.value, ic.Conflict)
        assert (refused.value.status, refused.value.detail) == (409, "invalid-state-transition!")

    def test_gives_up_after_its_attempts(self):
        script = Script(*[problem(503, "service-unavailable") for _ in range(3)])
        api = client_for(script, retry=ic.RetryPolicy(attempts=3, backoff_s=0.1))
        with pytest.raises(ic.ServiceUnavailable):
            api.list_loans()
        assert len(script.requests) == 3
        assert len(api.waits) == 2 and all(0 < w <= 0.1 * 4 * 1.5 for w in api.waits)

    def test_connection_errors_surface_after_the_last_try(self):
        script = Script(*[httpx.ConnectError("refused") for _ in range(2)])
        api = client_for(script, retry=ic.RetryPolicy(attempts=2))
        with pytest.raises(httpx.ConnectError):
            api.healthz()


class TestProblems:
    def test_field_errors_are_typed(self):
        errors = [{"loc": ["body", "amount"], "msg": "too many decimals", "type": "decimal"}]
        script = Script(problem(422, "validation-error", errors=errors, request_id="r-1"))
        with pytest.raises(ic.UnprocessableContent) as refused:
            client_for(script).create_enterprise(ENTERPRISE)
        assert refused.value.about("body", "amount")
        assert refused.value.errors[0].msg == "too many decimals"
        assert refused.value.request_id == "r-1"
        assert refused.value.type == PROBLEMS + "validation-error"

    def test_an_answer_that_is_no_problem_document_still_raises_by_status(self):
        script = Script(httpx.Response(502, text="<html>bad gateway</html>"))
        with pytest.raises(ic.ServerError) as failed:
            client_for(script, retry=ic.RetryPolicy(attempts=1)).healthz()
        assert failed.value.status == 502 and failed.value.type == "about:blank"


class TestWire:
    def test_money_goes_as_decimal_strings_and_comes_back_as_decimal(self):
        valuation = {
            "id": "0190d5f0-0000-7000-8000-000000000002",
            "ip_asset_id": "0190d5f0-0000-7000-8000-000000000003",
            "value": "1234567.89",
            "appraiser": "A",
            "method": "income",
            "valuation_date": "2026-11-20",
            "created_at": "2026-11-20T10:00:00+08:00",
        }
        script = Script(httpx.Response(201, json=valuation))
        out = client_for(script).add_ip_asset_valuation(
            "0190d5f0-0000-7000-8000-000000000003",
            models.ValuationCreate(
                value=Decimal("1234567.89"),
                appraiser="A",
                method="income",
                valuation_date="2026-11-20",  # type: ignore[arg-type]
            ),
        )
        sent = json.loads(script.requests[0].content)
        assert sent["value"] == "1234567.89"
        assert out.value == Decimal("1234567.89")

    def test_path_parameters_are_escaped(self):
        script = Script(problem(404, "not-found"))
        with pytest.raises(ic.NotFound):
            client_for(script).get_loan("../api-keys")
        assert script.requests[0].url.raw_path == b"/v1/loans/..%2Fapi-keys"

    def test_pages_are_followed_to_the_last(self):
        pages = [
            httpx.Response(200, json={"items": [LPR, LPR], "next_cursor": "c1"}),
            httpx.Response(200, json={"items": [LPR], "next_cursor": None}),
        ]
        script = Script(*pages)
        items = list(client_for(script).iter_lpr_fixings(limit=2))
        assert len(items) == 3
        assert [r.url.params.get("cursor") for r in script.requests] == [None, "c1"]


class TestAsync:
    async def test_the_async_client_retries_with_the_same_key(self):
        script = Script(problem(409, "idempotency-request-in-progress"), created_enterprise())
        http = httpx.AsyncClient(transport=httpx.MockTransport(script), base_url="http://svc")
        fast = ic.RetryPolicy(backoff_s=0.001)
        async with ic.AsyncClient("http://svc", token="t", http=http, retry=fast) as api:
            enterprise = await api.create_enterprise(ENTERPRISE)
        assert enterprise.district_code == "440307"
        keys = {r.headers["idempotency-key"] for r in script.requests}
        assert len(script.requests) == 2 and len(keys) == 1


class TestAnyRequest:
    def test_raw_requests_get_keys_retries_and_problems_too(self):
        script = Script(
            httpx.Response(503, headers={"retry-after": "1"}),
            httpx.Response(201, json={"ok": True}, headers={"idempotent-replayed": "true"}),
            problem(404, "not-found"),
        )
        api = client_for(script)
        answer = api.request("POST", "/v1/things", json={"a": "1.00"})
        assert answer.headers["idempotent-replayed"] == "true"
        assert script.requests[0].headers["idempotency-key"]
        assert script.requests[0].content == script.requests[1].content == b'{"a": "1.00"}'
        with pytest.raises(ic.NotFound):
            api.request("GET", "/v1/things/1")


@pytest.fixture
def silent_service() -> Iterator[str]:
    """A service that takes connections and never answers: only a timeout ends a request."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


class TestTimeout:
    def test_a_timeout_given_holds_on_a_client_of_ones_own(self, silent_service):
        http = httpx.Client(base_url=silent_service, timeout=5.0)
        once = ic.RetryPolicy(attempts=1)
        with ic.Client(silent_service, http=http, timeout=0.2, retry=once) as api:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                api.healthz()
        assert time.monotonic() - started < 2

    async def test_and_on_an_async_client_of_ones_own(self, silent_service):
        http = httpx.AsyncClient(base_url=silent_service, timeout=5.0)
        once = ic.RetryPolicy(attempts=1)
        async with ic.AsyncClient(silent_service, http=http, timeout=0.2, retry=once) as api:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await api.healthz()
        assert time.monotonic() - started < 2

    def test_without_one_a_client_of_ones_own_keeps_its_timeout(self):
        script = Script(httpx.Response(200, json={"items": [], "next_cursor": None}))
        http = httpx.Client(
            transport=httpx.MockTransport(script), base_url="http://svc", timeout=7.0
        )
        ic.Client("http://svc", http=http).list_lpr_fixings()
        assert script.requests[0].extensions["timeout"]["read"] == 7.0


class TestIfMatch:
    def test_a_version_is_sent_as_its_etag(self):
        script = Script(problem(412, "precondition-failed"))
        with pytest.raises(ic.PreconditionFailed):
            client_for(script).submit_application("a1", if_match=3)
        assert script.requests[0].headers["if-match"] == '"3"'

    @pytest.mark.parametrize("etag", ['"2"', 'W/"2"', "*"])
    def test_an_etag_is_sent_as_it_came(self, etag):
        script = Script(httpx.Response(200, json=LPR))
        client_for(script).put_lpr_fixing(
            "2026-11-20", {"one_year_bp": 300, "five_year_bp": 350}, if_match=etag
        )
        assert script.requests[0].headers["if-match"] == etag

    def test_not_given_none_is_sent(self):
        script = Script(httpx.Response(200, json=LPR))
        client_for(script).put_lpr_fixing("2026-11-20", {"one_year_bp": 300, "five_year_bp": 350})
        assert "if-match" not in script.requests[0].headers

    def test_given_twice_is_refused_before_sending(self):
        script = Script()
        with pytest.raises(ValueError, match="If-Match given twice"):
            client_for(script).review_application("a1", if_match=3, headers={"if-match": '"3"'})
        assert script.requests == []

    async def test_the_async_client_takes_it_too(self):
        script = Script(httpx.Response(200, json=LPR))
        http = httpx.AsyncClient(transport=httpx.MockTransport(script), base_url="http://svc")
        async with ic.AsyncClient("http://svc", token="t", http=http) as api:
            await api.put_lpr_fixing(
                "2026-11-20", {"one_year_bp": 300, "five_year_bp": 350}, if_match=1
            )
        assert script.requests[0].headers["if-match"] == '"1"'


class TestBaseUrl:
    def test_a_client_of_ones_own_without_one_is_sent_to_the_service(self):
        script = Script(httpx.Response(200, json={"items": [], "next_cursor": None}))
        http = httpx.Client(transport=httpx.MockTransport(script))
        ic.Client("http://svc:8000/", http=http).list_lpr_fixings()
        assert str(script.requests[0].url).startswith("http://svc:8000/v1/")

    @pytest.mark.parametrize(
        ("given", "mine"),
        [("http://svc:8000", "http://SVC:8000"), ("http://svc", "http://svc:80/")],
    )
    def test_one_address_spelt_two_ways_is_the_same_service(self, given, mine):
        script = Script(httpx.Response(200, json={"items": [], "next_cursor": None}))
        http = httpx.Client(transport=httpx.MockTransport(script), base_url=given)
        ic.Client(mine, http=http).list_lpr_fixings()
        assert str(script.requests[0].url).startswith(f"{given}/v1/")

    def test_one_made_for_another_service_is_refused(self):
        http = httpx.Client(base_url="http://elsewhere")
        with pytest.raises(ValueError, match="elsewhere"):
            ic.Client("http://svc", http=http)

    async def test_and_so_is_an_async_one(self):
        http = httpx.AsyncClient(base_url="http://elsewhere")
        with pytest.raises(ValueError, match="elsewhere"):
            ic.AsyncClient("http://svc", http=http)
        await http.aclose()
