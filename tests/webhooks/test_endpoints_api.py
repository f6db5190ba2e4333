"""Managing webhook endpoints and events through the API (admins only)."""

import base64
from datetime import datetime, timedelta

import pytest

from app.core.runtime import Runtime
from app.main import attach
from tests.conftest import make_settings as settings_with
from tests.conftest import problem_of, slug

BASE = "/v1/webhook-endpoints"


async def _create(client, admin, **body):
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["loan.disbursed"], **body}
    return await client.post(BASE, json=body, headers=admin)


class TestRegistration:
    async def test_secret_is_shown_once(self, client, admin):
        response = await _create(
            client,
            admin,
            event_types=["subsidy.claim.created", "subsidy.claim.paid", "subsidy.claim.created"],
            district_code="440307",
        )
        assert response.status_code == 201
        created = response.json()
        assert created["secret"].startswith("whsec_")
        assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
        assert created["event_types"] == ["subsidy.claim.created", "subsidy.claim.paid"]
        assert created["district_code"] == "440307"
        assert created["enabled"] is True and created["version"] == 1
        assert response.headers["etag"] == '"1"'

        one = await client.get(f"{BASE}/{created['id']}", headers=admin)
        listed = await client.get(BASE, headers=admin)
        for response in (one, listed):
            assert response.status_code == 200
            assert created["secret"] not in response.text
            assert '"secret"' not in response.text
        assert one.headers["etag"] == '"1"'
        assert created["id"] in [e["id"] for e in listed.json()["items"]]

    async def test_creation_is_audited_without_the_secret(self, client, admin):
        created = (await _create(client, admin)).json()
        trail = await client.get(
            "/v1/audit-events",
            params={"entity_type": "webhook_endpoint", "entity_id": created["id"]},
            headers=admin,
        )
        [entry] = trail.json()["items"]
        assert entry["action"] == "webhook_endpoint.created"
        assert entry["after"]["url"] == "http://127.0.0.1:9/hook"
        assert created["secret"] not in trail.text

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"event_types": ["loan.disbursed", "loan.exploded"]}, ["body", "event_types", 1]),
            ({"event_types": []}, ["body", "event_types"]),
            ({"district_code": "110101"}, ["body", "district_code"]),
            # Pool events are about no one district: a district's endpoint would never get one.
            (
                {"district_code": "440307", "event_types": ["loan.defaulted", "pool.locked"]},
                ["body", "event_types", 1],
            ),
            ({"url": "ftp://127.0.0.1/hook"}, ["body", "url"]),
            ({"url": "https://user:secret@hooks.example.com/"}, ["body", "url"]),
            ({"colour": "blue"}, ["body", "colour"]),
        ],
    )
    async def test_invalid_registrations_are_422(self, client, admin, body, loc):
        response = await _create(client, admin, **body)
        assert response.status_code == 422
        assert slug(response) == "validation-error"
        assert loc in [e["loc"] for e in problem_of(response)["errors"]]


class TestPrivateAddresses:
    @pytest.fixture
    def strict_client(self, client, app, runtime):
        """The API with IPLEDGE_WEBHOOKS_ALLOW_PRIVATE off (the tests' default is on)."""
        attach(
            app,
            Runtime(
                settings=settings_with(webhooks_allow_private=False),
                database=runtime.database,
                clock=runtime.clock,
                owns_database=False,
            ),
        )
        return client

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://2130706433/hook",
            "http://10.0.0.8/hook",
            "http://192.168.1.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[fe80::1]/hook",
            "http://[fd12:3456::1]/hook",
            "http://0.0.0.0/hook",
            "http://224.0.0.1/hook",
        ],
    )
    async def test_refused_unless_allowed(self, strict_client, admin, url):
        response = await _create(strict_client, admin, url=url)
        assert response.status_code == 422, response.text
        assert "may not receive webhooks" in problem_of(response)["detail"]

    async def test_a_host_that_does_not_resolve_is_refused(self, strict_client, admin):
        response = await _create(strict_client, admin, url="https://no-such-host.invalid/hook")
        assert response.status_code == 422
        assert "does not resolve" in problem_of(response)["detail"]

    async def test_a_public_address_is_accepted(self, strict_client, admin):
        response = await _create(strict_client, admin, url="https://93.184.215.14/hook")
        assert response.status_code == 201


class TestLifecycle:
    async def test_rotation_returns_a_new_secret_kept_alongside_for_24_hours(
        self, client, admin, clock
    ):
        created = (await _create(client, admin)).json()
        rotated = await client.post(f"{BASE}/{created['id']}/rotate-secret", headers=admin)
        assert rotated.status_code == 200
        body = rotated.json()
        assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
        assert body["version"] == 2 and rotated.headers["etag"] == '"2"'
        expires = datetime.fromisoformat(body["previous_secret_expires_at"])
        assert expires == clock.now() + timedelta(hours=24)

        stale = await client.post(
            f"{BASE}/{created['id']}/rotate-secret", headers={**admin, "If-Match": '"1"'}
        )
        assert stale.status_code == 412 and slug(stale) == "precondition-failed"
        trail = await client.get(
            "/v1/audit-events",
            params={"entity_type": "webhook_endpoint", "entity_id": created["id"]},
            headers=admin,
        )
        assert trail.json()["items"][0]["action"] == "webhook_endpoint.secret_rotated"
        assert body["secret"] not in trail.text and created["secret"] not in trail.text

    async def test_disable_and_enable(self, client, admin):
        created = (await _create(client, admin)).json()
        url = f"{BASE}/{created['id']}"
        disabled = await client.post(
            f"{url}/disable", json={"reason": "bureau migrating servers"}, headers=admin
        )
        assert disabled.status_code == 200
        assert disabled.json()["enabled"] is False
        assert disabled.json()["disabled_reason"] == "bureau migrating servers"
        again = await client.post(f"{url}/disable", headers=admin)
        assert again.json()["version"] == disabled.json()["version"]  # nothing changed

        only_disabled = await client.get(BASE, params={"enabled": "false"}, headers=admin)
        assert created["id"] in [e["id"] for e in only_disabled.json()["items"]]

        enabled = await client.post(
            f"{url}/enable", headers={**admin, "If-Match": f'"{disabled.json()["version"]}"'}
        )
        assert enabled.status_code == 200
        assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
        trail = await client.get(
            "/v1/audit-events",
            params={"entity_type": "webhook_endpoint", "entity_id": created["id"]},
            headers=admin,
        )
        assert [e["action"] for e in trail.json()["items"]] == [
            "webhook_endpoint.enabled",
            "webhook_endpoint.disabled",
            "webhook_endpoint.created",
        ]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/v1/webhook-endpoints/{id}"),
            ("POST", "/v1/webhook-endpoints/{id}/rotate-secret"),
            ("POST", "/v1/webhook-endpoints/{id}/disable"),
            ("POST", "/v1/webhook-endpoints/{id}/enable"),
            ("GET", "/v1/webhook-endpoints/{id}/deliveries"),
            ("POST", "/v1/webhook-events/{id}/redeliver"),
        ],
    )
    @pytest.mark.parametrize("unknown", ["01930000-0000-7000-8000-000000000000", "not-an-id"])
    async def test_unknown_ids_are_404(self, client, admin, method, path, unknown):
        response = await client.request(method, path.format(id=unknown), headers=admin)
        assert response.status_code == 404 and slug(response) == "not-found"


NON_ADMIN = [
    ("bank_system", None),
    ("relationship_manager", "rm-001"),
    ("credit_officer", None),
    ("district_bureau", "440307"),
    ("securitization", None),
]
ROUTES = [
    ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/{id}"),
    ("POST", "/v1/webhook-endpoints/{id}/rotate-secret"),
    ("POST", "/v1/webhook-endpoints/{id}/disable"),
    ("POST", "/v1/webhook-endpoints/{id}/enable"),
    ("GET", "/v1/webhook-endpoints/{id}/deliveries"),
    ("GET", "/v1/webhook-events"),
    ("POST", "/v1/webhook-events/{id}/redeliver"),
]


@pytest.mark.parametrize(("role", "subject"), NON_ADMIN)
async def test_only_admins_manage_webhooks(client, admin, make_key, role, subject):
    endpoint = (await _create(client, admin)).json()
    headers = await make_key(role, subject)
    for method, path in ROUTES:
        body = {"url": "http://127.0.0.1:9/x", "event_types": ["loan.disbursed"]}
        response = await client.request(
            method,
            path.format(id=endpoint["id"]),
            json=body if path == "/v1/webhook-endpoints" and method == "POST" else None,
            headers=headers,
        )
        assert response.status_code == 403, (method, path)
        assert slug(response) == "forbidden"
