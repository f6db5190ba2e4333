"""Bearer tokens from the bank's OpenID Connect provider (SPEC.md section 4), checked against a
real provider: discovery document and key set served over HTTP on 127.0.0.1 by the test."""

from __future__ import annotations

import time
from uuid import uuid5

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from app.config import PROJECT_ROOT
from app.core.errors import ServiceUnavailable
from app.core.oidc import (
    LEEWAY_S,
    OIDC_ACTOR_NAMESPACE,
    OidcConfig,
    SigningKeys,
    TokenVerifier,
    verifier_for,
)
from tests.conftest import make_settings, problem_of
from tests.core.oidc_issuer import AUDIENCE, Issuer, SigningKey, running_issuer, unsigned

FETCH_FAILED = "oidc key set could not be fetched"

ANY_KEY_READ = "/v1/calendar/years/2026"
UNKNOWN_KEY = "Bearer ipk_" + "0" * 32 + "_" + "A" * 43


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer():
    yield from running_issuer()


@pytest.fixture
def tick() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(issuer: Issuer, tick: FakeClock) -> TokenVerifier:
    keys = SigningKeys(issuer.url, refresh_interval_s=30.0, clock=tick)
    return TokenVerifier(OidcConfig(issuer=issuer.url, audience=AUDIENCE), keys)


@pytest.fixture
async def oidc_client(app, client, verifier):
    """The API client, with the app checking tokens of the test's provider."""
    app.state.keys.tokens = verifier.authenticate
    return client


async def _call(client, token: str | None, path: str = ANY_KEY_READ):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.get(path, headers=headers)


async def _unknown_key_problem(client) -> dict:
    response = await client.get(ANY_KEY_READ, headers={"Authorization": UNKNOWN_KEY})
    assert response.status_code == 401
    return problem_of(response)


def _same_refusal(problem: dict, unknown: dict) -> bool:
    keys = ("type", "title", "status", "detail")
    return {k: problem.get(k) for k in keys} == {k: unknown.get(k) for k in keys}


class TestAValidTokenIsLetIn:
    async def test_rs256_and_es256(self, oidc_client, issuer):
        issuer.keys.append(SigningKey.ec("ec-1"))
        for key in issuer.keys:
            token = issuer.sign(issuer.claims("credit_officer"), key)
            response = await _call(oidc_client, token)
            assert response.status_code == 200, (key.algorithm, response.text)

    async def test_a_few_seconds_of_clock_skew_are_forgiven(self, oidc_client, issuer):
        now = int(time.time())
        token = issuer.token("admin", exp=now - 5, nbf=now + 5, iat=now + 5)
        assert (await _call(oidc_client, token)).status_code == 200

    async def test_claims_with_other_names(self, oidc_client, issuer, verifier):
        verifier.config = OidcConfig(
            issuer=issuer.url, audience=AUDIENCE, role_claim="roles", subject_claim="district"
        )
        token = issuer.token("x", roles="district_bureau", district="440307", ipledge_role=None)
        response = await _call(oidc_client, token, "/v1/subsidy-claims")
        assert response.status_code == 200, response.text


class TestEveryBadTokenIs401LikeAnUnknownKey:
    @staticmethod
    def forged(issuer: Issuer) -> dict[str, str]:
        now = int(time.time())
        good = issuer.claims("admin")
        stranger = SigningKey.rsa(issuer.keys[0].kid)  # same kid, not the provider's key
        return {
            "expired": issuer.token("admin", exp=now - 120),
            "not yet valid": issuer.token("admin", nbf=now + 120),
            "issued in the future": issuer.token("admin", iat=now + 120),
            "wrong audience": issuer.token("admin", aud="another-api"),
            "wrong issuer": issuer.token("admin", iss="https://idp.example"),
            "no expiry": issuer.token("admin", exp=None),
            "no sub": issuer.token("admin", sub=None),
            "alg none": unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, good),
            "alg none, no kid": unsigned({"alg": "none", "typ": "JWT"}, good),
            "HS256 keyed with the public key": issuer.hs256_with_public_key(good),
            "RS384": issuer.sign(good, SigningKey("rsa-1", "RS384", issuer.keys[0].private)),
            "signed by a stranger": issuer.sign(good, stranger),
            "unknown kid": issuer.sign(good, SigningKey.rsa("nobody")),
            "tampered claims": _tampered(issuer.token("credit_officer"), good),
            "unknown role": issuer.token("superuser"),
            "manager without subject": issuer.token("relationship_manager"),
            "bureau with an empty subject": issuer.token("district_bureau", ""),
            "control character in sub": issuer.token("admin", sub="a\x00b"),
            # Subjects no key could have: a manager id is what RM_ID allows, a bureau's is a
            # district code. Such a manager's applications once stored an id that no filter
            # (?relationship_manager_id=) would take.
            "manager id with a line separator": issuer.token("relationship_manager", "RM\u2028X"),
            "manager id with a space": issuer.token("relationship_manager", " RM900001"),
            "manager id in full-width letters": issuer.token("relationship_manager", "ＲＭ１"),
            "manager id that is a formula": issuer.token("relationship_manager", "=cmd()"),
            "bureau that names no district code": issuer.token("district_bureau", "44030%"),
            "garbage": "not-a-token",
            "three dots": "a.b.c",
            "base64 garbage": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOjF9.AAAA",
            "huge": "e" * 20_000,
        }

    async def test_each_is_refused_exactly_as_an_unknown_key(self, oidc_client, issuer):
        unknown = await _unknown_key_problem(oidc_client)
        for what, token in self.forged(issuer).items():
            response = await _call(oidc_client, token)
            assert response.status_code == 401, (what, response.text)
            assert _same_refusal(problem_of(response), unknown), (what, response.text)

    async def test_the_log_names_the_kind_of_failure_never_the_token(
        self, oidc_client, issuer, monkeypatch
    ):
        from app.core import oidc
        from app.core.logging import scrub

        logged: list[tuple[str, dict]] = []

        class Log:
            def info(self, message: str, **members: object) -> None:
                logged.append((message, members))

            warning = info

        monkeypatch.setattr(oidc, "log", Log())
        tokens = {
            "ExpiredSignatureError": issuer.token("admin", exp=int(time.time()) - 120),
            "claims": issuer.token("superuser"),
        }
        for token in tokens.values():
            assert (await _call(oidc_client, token)).status_code == 401
        # As the line reaches the log, past the redaction of credentials.
        assert [(scrub(message), members["reason"]) for message, members in logged] == [
            ("oidc token refused", reason) for reason in tokens
        ]
        assert not any(part in repr(logged) for t in tokens.values() for part in t.split("."))


class TestAProviderThatCannotBeAskedIs503NotABadToken:
    """A token whose key cannot be had from the provider is not judged: 503 as for a database
    that is away, so an integrator does not go hunting for a fault in its credentials."""

    @staticmethod
    def assert_unavailable(response) -> None:
        assert response.status_code == 503, response.text
        problem = problem_of(response)
        assert problem["type"].endswith("/problems/service-unavailable")
        assert problem["title"] == "Temporarily unavailable; retry shortly"
        assert "identity provider" in problem["detail"]
        assert int(response.headers["retry-after"]) > 0
        assert "www-authenticate" not in response.headers

    @staticmethod
    def oidc_lines(logs: list[dict]) -> list[dict]:
        """The lines of the request; the fetch's own error line is checked apart."""
        return [
            entry
            for entry in logs
            if entry["event"].startswith("oidc") and entry["event"] != FETCH_FAILED
        ]

    async def test_a_failed_fetch_is_an_error_once_per_attempt(self, oidc_client, issuer):
        issuer.failing["/jwks"] = 503
        with capture_logs() as logs:
            for _ in range(3):
                self.assert_unavailable(await _call(oidc_client, issuer.token("admin")))
        [error] = [entry for entry in logs if entry["event"] == FETCH_FAILED]
        assert (error["log_level"], error["reason"]) == ("error", "key set: HTTP 503")
        assert len(self.oidc_lines(logs)) == 3  # one warning per refused request

    async def test_a_provider_nobody_answers_at(self, app, client):
        away = Issuer().start()
        token = away.token("admin")
        away.stop()  # nobody answers at the issuer now: no key set to be had
        app.state.keys.tokens = TokenVerifier(OidcConfig(away.url, AUDIENCE)).authenticate
        with capture_logs() as logs:
            response = await _call(client, token)
        self.assert_unavailable(response)
        [line] = self.oidc_lines(logs)
        assert line["event"] == "oidc provider unavailable"
        assert line["log_level"] == "warning"
        assert line["reason"] == "discovery document: ConnectError"
        assert not any(part in repr(logs) for part in token.split("."))

    @pytest.mark.parametrize(
        ("path", "status", "reason"),
        [
            ("/.well-known/openid-configuration", 500, "discovery document: HTTP 500"),
            ("/.well-known/openid-configuration", 503, "discovery document: HTTP 503"),
            ("/.well-known/openid-configuration", 404, "discovery document: HTTP 404"),
            ("/jwks", 502, "key set: HTTP 502"),
            ("/jwks", 503, "key set: HTTP 503"),
        ],
    )
    async def test_a_provider_answering_with_an_error(
        self, oidc_client, issuer, path, status, reason
    ):
        issuer.failing[path] = status
        token = issuer.token("admin")
        with capture_logs() as logs:
            response = await _call(oidc_client, token)
        self.assert_unavailable(response)
        [line] = self.oidc_lines(logs)
        assert (line["event"], line["reason"]) == ("oidc provider unavailable", reason)
        assert not any(part in repr(logs) for part in token.split("."))

    async def test_tokens_pass_again_once_the_provider_answers(self, oidc_client, issuer, tick):
        issuer.failing["/jwks"] = 503
        self.assert_unavailable(await _call(oidc_client, issuer.token("admin")))
        # Asked at most once per interval, whether it answered or not.
        self.assert_unavailable(await _call(oidc_client, issuer.token("admin")))
        assert issuer.discovery_fetches == 1
        del issuer.failing["/jwks"]
        tick.now += 31
        assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200

    async def test_a_key_not_held_while_the_provider_is_away(self, oidc_client, issuer, tick):
        assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        rotated = SigningKey.rsa("rsa-2")
        issuer.keys.append(rotated)
        issuer.failing["/jwks"] = 503
        tick.now += 31
        token = issuer.sign(issuer.claims("admin"), rotated)
        self.assert_unavailable(await _call(oidc_client, token))
        # Within the interval nobody asks again, and it is still not known.
        self.assert_unavailable(await _call(oidc_client, token))
        assert issuer.jwks_fetches == 2

    async def test_the_keys_held_stay_in_use_and_bad_tokens_stay_401(
        self, oidc_client, issuer, tick
    ):
        assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        issuer.failing["/.well-known/openid-configuration"] = 503
        tick.now += 3601  # the cache is stale: it asks, fails, and keeps what it holds
        with capture_logs() as logs:
            assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        [line] = self.oidc_lines(logs)
        assert line["event"] == "oidc key set unavailable; the keys held stay in use"
        unknown = await _unknown_key_problem(oidc_client)
        now = int(time.time())
        stranger = SigningKey.rsa(issuer.keys[0].kid)
        bad = {
            "expired": issuer.token("admin", exp=now - 120),
            "signed by a stranger": issuer.sign(issuer.claims("admin"), stranger),
            "garbage": "not-a-token",
            "alg none": unsigned({"alg": "none", "kid": "rsa-1"}, issuer.claims("admin")),
        }
        for what, token in bad.items():
            response = await _call(oidc_client, token)
            assert response.status_code == 401, (what, response.text)
            assert _same_refusal(problem_of(response), unknown), what

    async def test_api_keys_never_ask_the_provider(self, oidc_client, issuer, make_key):
        issuer.failing = {"/.well-known/openid-configuration": 503, "/jwks": 503}
        headers = await make_key("credit_officer")
        assert (await oidc_client.get(ANY_KEY_READ, headers=headers)).status_code == 200
        await _unknown_key_problem(oidc_client)
        malformed = {"Authorization": "Bearer ipk_not-a-key"}
        assert (await oidc_client.get(ANY_KEY_READ, headers=malformed)).status_code == 401
        assert issuer.fetches == {}

    @pytest.mark.parametrize("announced", ["https://sso.other.example", "{url}/", ""])
    async def test_a_discovery_document_naming_another_issuer(self, oidc_client, issuer, announced):
        """OpenID Connect Discovery 1.0, section 4.3: the issuer it names must be identical to
        the one configured, or none of the keys it points to is trusted."""
        issuer.announced_issuer = announced.format(url=issuer.url)
        token = issuer.token("admin")
        with capture_logs() as logs:
            response = await _call(oidc_client, token)
        self.assert_unavailable(response)
        assert issuer.jwks_fetches == 0
        [line] = self.oidc_lines(logs)
        assert line["event"] == "oidc provider unavailable"
        assert line["reason"].startswith("discovery document names issuer ")
        assert line["reason"].endswith(f"not {issuer.url!r}")
        assert not any(part in repr(logs) for part in token.split("."))


def _tampered(token: str, claims: dict) -> str:
    """A genuine signature over other claims."""
    import base64
    import json

    head, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


class TestKeyRotation:
    async def test_a_new_key_is_fetched_when_a_token_names_it(self, oidc_client, issuer, tick):
        assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        assert issuer.jwks_fetches == 1
        # Cached: more tokens of the same key fetch nothing.
        for _ in range(5):
            assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        assert issuer.jwks_fetches == 1

        rotated = SigningKey.rsa("rsa-2")
        issuer.keys = [rotated]
        tick.now += 31
        token = issuer.sign(issuer.claims("admin"), rotated)
        assert (await _call(oidc_client, token)).status_code == 200
        assert issuer.jwks_fetches == 2

    async def test_made_up_key_ids_cannot_make_it_fetch_on_every_request(
        self, oidc_client, issuer, tick
    ):
        assert (await _call(oidc_client, issuer.token("admin"))).status_code == 200
        claims = issuer.claims("admin")
        for n in range(30):
            token = issuer.sign(claims, SigningKey(f"made-up-{n}", "RS256", issuer.keys[0].private))
            assert (await _call(oidc_client, token)).status_code == 401
        assert issuer.jwks_fetches == 1
        tick.now += 31
        token = issuer.sign(claims, SigningKey("made-up-again", "RS256", issuer.keys[0].private))
        assert (await _call(oidc_client, token)).status_code == 401
        assert issuer.jwks_fetches == 2  # once per interval, at most


class TestATokenActsAsAKeyOfItsRoleAndSubject:
    async def test_audit_names_the_tokens_subject_and_idempotency_is_per_person(
        self, oidc_client, issuer
    ):
        token = issuer.token("admin", sub="alice@bank")
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "create-officer-key"}
        body = {"role": "credit_officer", "name": "officer desk"}
        first = await oidc_client.post("/v1/api-keys", json=body, headers=headers)
        assert first.status_code == 201, first.text
        again = await oidc_client.post("/v1/api-keys", json=body, headers=headers)
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["id"] == first.json()["id"]

        bob = issuer.token("admin", sub="bob@bank")
        other = {**headers, "Authorization": f"Bearer {bob}"}
        theirs = await oidc_client.post("/v1/api-keys", json=body, headers=other)
        assert theirs.status_code == 201
        assert theirs.json()["id"] != first.json()["id"]  # the same key, another person

        audit = await oidc_client.get(
            "/v1/audit-events", headers={"Authorization": f"Bearer {token}"}
        )
        assert audit.status_code == 200, audit.text
        entries = [e for e in audit.json()["items"] if e["entity_id"] == first.json()["id"]]
        assert len(entries) == 1
        assert entries[0]["actor_subject"] == "oidc:alice@bank"
        assert entries[0]["actor_signed_in_as"] == "alice@bank"
        assert entries[0]["actor_role"] == "admin"
        expected = uuid5(OIDC_ACTOR_NAMESPACE, f"{issuer.url}\nalice@bank\nadmin\noidc:alice@bank")
        assert entries[0]["actor_key_id"] == str(expected)

    async def test_a_new_role_never_replays_what_the_old_one_was_answered(
        self, oidc_client, issuer, conn
    ):
        """One person, one Idempotency-Key: an answer given under a role the person has since
        lost is not replayed to them under their new one."""
        from tests import factories

        holder = await factories.enterprise(conn)
        asset = await factories.ip_asset(conn, holder)
        body = factories.application_body(holder, [asset])
        body["relationship_manager_id"] = "RM900003"
        key = {"Idempotency-Key": "same-key-two-roles"}
        as_system = issuer.token("bank_system", sub="dana")
        first = await oidc_client.post(
            "/v1/applications", json=body, headers={**key, "Authorization": f"Bearer {as_system}"}
        )
        assert first.status_code == 201, first.text
        as_manager = issuer.token("relationship_manager", "RM900004", sub="dana")
        del body["relationship_manager_id"]
        again = await oidc_client.post(
            "/v1/applications", json=body, headers={**key, "Authorization": f"Bearer {as_manager}"}
        )
        assert again.status_code == 201, again.text
        assert again.headers.get("idempotent-replayed") is None
        assert again.json()["relationship_manager_id"] == "RM900004"

    async def test_a_manager_sees_their_own_applications_only(self, oidc_client, issuer, conn):
        from tests import factories

        holder = await factories.enterprise(conn)
        asset = await factories.ip_asset(conn, holder)
        carol = issuer.token("relationship_manager", "RM900001", sub="carol")
        mine = {"Authorization": f"Bearer {carol}"}
        theirs = {
            "Authorization": f"Bearer {issuer.token('relationship_manager', 'RM900002', sub='b')}"
        }
        created = await oidc_client.post(
            "/v1/applications",
            json=factories.application_body(holder, [asset]),
            headers=mine,
        )
        assert created.status_code == 201, created.text
        assert created.json()["relationship_manager_id"] == "RM900001"
        path = f"/v1/applications/{created.json()['id']}"
        assert (await oidc_client.get(path, headers=mine)).status_code == 200
        assert (await oidc_client.get(path, headers=theirs)).status_code == 404
        # The audit entry names the manager (whose records these are) and the person signed in.
        admin = {"Authorization": f"Bearer {issuer.token('admin', sub='auditor')}"}
        audit = await oidc_client.get(
            "/v1/audit-events",
            params={"entity_type": "application", "entity_id": created.json()["id"]},
            headers=admin,
        )
        assert audit.status_code == 200, audit.text
        [entry] = audit.json()["items"]
        assert (entry["actor_subject"], entry["actor_signed_in_as"]) == ("RM900001", "carol")

    async def test_a_bureau_sees_its_own_district_only(self, oidc_client, issuer):
        longgang = issuer.token("district_bureau", "440307")
        response = await _call(oidc_client, longgang, "/v1/subsidy-programs")
        assert response.status_code == 200
        forbidden = await _call(oidc_client, longgang, "/v1/loans")
        assert forbidden.status_code == 403


class TestSettings:
    def test_no_issuer_no_tokens(self):
        assert verifier_for(make_settings()) is None

    def test_an_issuer_without_an_audience_does_not_start(self):
        with pytest.raises(ValidationError, match="required with IPLEDGE_OIDC_ISSUER"):
            make_settings(oidc_issuer="https://idp.example")

    async def test_tokens_are_unknown_keys_without_a_provider(self, client, issuer):
        unknown = await _unknown_key_problem(client)
        response = await _call(client, issuer.token("admin"))
        assert response.status_code == 401
        assert _same_refusal(problem_of(response), unknown)

    async def test_attach_wires_the_provider_from_settings(self, issuer, runtime):
        from app.main import attach, create_app

        settings = make_settings(oidc_issuer=issuer.url, oidc_audience=AUDIENCE)
        app = create_app(settings, listen=False)
        runtime.settings = settings
        attach(app, runtime)
        principal = await app.state.keys.authenticate(f"Bearer {issuer.token('securitization')}")
        assert principal.role == "securitization"
        assert principal.subject == "oidc:user-securitization"

    @pytest.mark.parametrize(
        "issuer",
        [
            "https://",
            "http://:8080/realms",
            "https://sso.example/realms/staff ",
            "https://sso.example?realm=staff",
            "https://sso.example#staff",
        ],
    )
    def test_an_issuer_that_no_token_could_name_does_not_start(self, issuer):
        with pytest.raises(ValidationError, match="must be the issuer's URL"):
            make_settings(oidc_issuer=issuer, oidc_audience=AUDIENCE)

    def test_an_audience_without_an_issuer_does_not_start(self):
        # Left alone it would be ignored: an operator would believe tokens are checked.
        with pytest.raises(ValidationError, match="needs IPLEDGE_OIDC_ISSUER"):
            make_settings(oidc_audience=AUDIENCE)

    @pytest.mark.parametrize("setting", ["oidc_role_claim", "oidc_subject_claim"])
    @pytest.mark.parametrize("value", ["", "  ", None])
    def test_an_empty_claim_name_does_not_start(self, setting, value):
        with pytest.raises(ValidationError, match="must name a claim of the tokens"):
            make_settings(
                oidc_issuer="https://idp.example", oidc_audience=AUDIENCE, **{setting: value}
            )

    def test_a_blank_audience_does_not_start(self):
        with pytest.raises(ValidationError, match="required with IPLEDGE_OIDC_ISSUER"):
            make_settings(oidc_issuer="https://idp.example", oidc_audience="  ")

    @pytest.mark.parametrize("issuer", ["http://sso.bank.example/realms/staff", "http://10.0.0.5"])
    def test_an_issuer_over_plain_http_off_this_machine_does_not_start(self, issuer):
        # Its signing keys would travel in clear: whoever swaps them can forge any role's token.
        with pytest.raises(ValidationError, match="must be https"):
            make_settings(oidc_issuer=issuer, oidc_audience=AUDIENCE)

    @pytest.mark.parametrize("issuer", ["http://127.0.0.1:8080", "http://localhost/realms/dev"])
    def test_a_provider_on_this_machines_loopback_may_use_plain_http(self, issuer):
        assert make_settings(oidc_issuer=issuer, oidc_audience=AUDIENCE).oidc_issuer == issuer

    async def test_keys_announced_at_a_plain_http_address_off_this_machine_are_not_fetched(
        self, issuer, verifier
    ):
        issuer.jwks_uri = "http://keys.bank.example/jwks"
        with capture_logs() as logs, pytest.raises(ServiceUnavailable):
            await verifier.authenticate(issuer.token("credit_officer"))
        assert issuer.fetches.get("/.well-known/openid-configuration") == 1
        # Refused for its address, before any attempt to reach it.
        [unavailable] = [e for e in logs if e["event"] == "oidc provider unavailable"]
        assert unavailable["reason"] == "discovery document without an https jwks_uri"


def test_sso_md_names_every_claim_checked_and_the_leeway():
    """What docs/sso.md says is checked is what is: every claim a token is refused for."""
    text = (PROJECT_ROOT / "docs" / "sso.md").read_text()
    checked = text.split("## What is checked", 1)[1].split("\n## ", 1)[0]
    for claim in ("exp", "nbf", "iat", "iss", "aud", "sub"):
        assert f"`{claim}`" in checked, claim
    assert f"{LEEWAY_S} seconds of leeway" in checked
