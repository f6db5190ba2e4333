"""Webhook URLs that point into the bank's network are refused when
IPLEDGE_WEBHOOKS_ALLOW_PRIVATE is false, whatever the spelling, and nothing is registered.

tests/webhooks/test_endpoints_api.py and test_rules.py already refuse 127.0.0.1, localhost,
2130706433, 10/8, 192.168/16, 169.254.169.254, ::1, IPv4-mapped loopback, fe80::/10, fd00::/8,
0.0.0.0, multicast, ftp:// and credentials. These add the rest of each range and the other
spellings an attacker reaches for: hex, octal and short dotted forms, trailing dots, zone ids,
IPv4-mapped cloud metadata, and schemes other than http(s). No name is looked up in public
DNS: every host here is a literal address or ``localhost``.
"""

from __future__ import annotations

import pytest

from app.core.runtime import Runtime
from app.main import attach
from tests.conftest import make_settings as settings_with
from tests.conftest import problem_of

INTERNAL = [
    # loopback, every spelling
    "http://127.0.0.2/hook",
    "http://127.255.255.254:8443/hook",
    "http://0x7f000001/hook",
    "http://0x7f.0.0.1/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://017700000001/hook",
    "http://localhost./hook",
    "http://LOCALHOST/hook",
    "https://localhost:443/hook",
    "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::ffff:7f00:1]/hook",
    # private
    "http://10.255.255.255/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.255/hook",
    "http://192.168.0.1/hook",
    "http://3232235521/hook",  # 192.168.0.1 as a decimal
    "http://0xa000001/hook",  # 10.0.0.1 in hex
    "http://[fc00::1]/hook",
    "http://[fdff:ffff::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    # link-local and the cloud metadata address
    "http://169.254.0.1/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://2852039166/latest/meta-data",  # 169.254.169.254 as a decimal
    "http://0xa9fea9fe/latest/meta-data",
    "http://[::ffff:169.254.169.254]/latest/meta-data",
    "http://[fe80::1%25eth0]/hook",
    "http://[febf:ffff::1]/hook",
    # unspecified
    "http://0/hook",
    "http://[::]/hook",
]

NOT_HTTP = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:11211/stats",
    "ws://hooks.example.com/socket",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "//hooks.example.com/hook",
    "hooks.example.com/hook",
]


@pytest.fixture
def strict_client(client, app, runtime):
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


@pytest.fixture
async def admin(make_key):
    return await make_key("admin")


async def _register(client, admin, url):
    return await client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": ["subsidy.claim.created"]},
        headers=admin,
    )


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_addresses_are_refused_and_nothing_is_registered(
    strict_client, admin, conn, url
):
    before = await conn.fetchval("SELECT count(*) FROM webhook_endpoints")
    response = await _register(strict_client, admin, url)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert "may not receive webhooks" in problem["detail"]
    assert ["body", "url"] in [e["loc"] for e in problem["errors"]]
    assert await conn.fetchval("SELECT count(*) FROM webhook_endpoints") == before


@pytest.mark.parametrize("url", NOT_HTTP)
async def test_schemes_other_than_http_are_refused_even_when_private_is_allowed(
    client, admin, conn, url
):
    before = await conn.fetchval("SELECT count(*) FROM webhook_endpoints")
    response = await _register(client, admin, url)
    assert response.status_code == 422, response.text
    assert ["body", "url"] in [e["loc"] for e in problem_of(response)["errors"]]
    assert await conn.fetchval("SELECT count(*) FROM webhook_endpoints") == before


async def test_the_same_internal_address_is_accepted_when_private_is_allowed(client, admin):
    """The refusals above come from the setting, not from the URL being unusable."""
    response = await _register(client, admin, "http://172.16.0.1/hook")
    assert response.status_code == 201, response.text


async def test_a_public_literal_address_is_accepted(strict_client, admin):
    response = await _register(strict_client, admin, "https://[2606:4700:4700::1111]/hook")
    assert response.status_code == 201, response.text


MALFORMED_NAMES = [
    "https://.../hook",
    "https://hooks..example.com/hook",
    "https://" + "a" * 64 + ".example.com/hook",
]


@pytest.mark.parametrize("url", MALFORMED_NAMES)
@pytest.mark.parametrize("strict", [True, False])
async def test_a_host_with_an_empty_or_overlong_label_is_refused(
    request, client, admin, conn, url, strict
):
    """The resolver cannot even encode such a name (it answered 500 once), and with private
    addresses allowed nothing resolves it at registration: refused either way, not stored."""
    before = await conn.fetchval("SELECT count(*) FROM webhook_endpoints")
    api = request.getfixturevalue("strict_client") if strict else client
    response = await _register(api, admin, url)
    assert response.status_code == 422, response.text
    assert ["body", "url"] in [e["loc"] for e in problem_of(response)["errors"]]
    assert await conn.fetchval("SELECT count(*) FROM webhook_endpoints") == before
