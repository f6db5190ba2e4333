"""Who may call what: every /v1 operation, written down here by hand from SPEC.md section 5
(and the README's Decisions where the code chose), checked against the app three ways:

- the table and the app have exactly the same operations, so an endpoint cannot be added
  without its access rule being written down here;
- each route's declared roles (``@access``, and ``x-roles`` in the OpenAPI document) are the
  table's;
- every operation, called with a key of every role (and with a token of the bank's identity
  provider for every role), answers 403 problem+json to the roles outside its set and lets the
  others past authorisation; with no key, a malformed, an unknown or a revoked key it answers
  401.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.core.oidc import OidcConfig, TokenVerifier
from app.core.roles import Role
from tests.conftest import problem_of
from tests.core.oidc_issuer import AUDIENCE, running_issuer
from tests.security.world import UNKNOWN_ID

BANK_SYSTEM = Role.BANK_SYSTEM
RM = Role.RELATIONSHIP_MANAGER
OFFICER = Role.CREDIT_OFFICER
BUREAU = Role.DISTRICT_BUREAU
SECURITIZATION = Role.SECURITIZATION
ADMIN = Role.ADMIN

# SPEC.md section 5: "bank roles" are these five.
BANK = frozenset({BANK_SYSTEM, RM, OFFICER, SECURITIZATION, ADMIN})
ANY_KEY = frozenset(Role)


def roles(*names: Role) -> frozenset[Role]:
    return frozenset(names)


# (method, path) -> the roles that may call it. Path parameters are named as in the app; the
# comparison ignores their names.
ACCESS: dict[tuple[str, str], frozenset[Role]] = {
    # Enterprises and IP assets: intake by bank systems and managers (admins too); bank roles read.
    ("POST", "/v1/enterprises"): roles(BANK_SYSTEM, RM, ADMIN),
    ("GET", "/v1/enterprises"): BANK,
    ("GET", "/v1/enterprises/{enterprise_id}"): BANK,
    ("POST", "/v1/ip-assets"): roles(BANK_SYSTEM, RM, ADMIN),
    ("GET", "/v1/ip-assets"): BANK,
    ("GET", "/v1/ip-assets/{asset_id}"): BANK,
    # SPEC section 5: valuations are the credit side's; they flow into pricing and the tape.
    ("POST", "/v1/ip-assets/{asset_id}/valuations"): roles(BANK_SYSTEM, RM, OFFICER),
    ("GET", "/v1/ip-assets/{asset_id}/valuations"): BANK,
    # Applications. README Decisions: admins do not originate or decide credit.
    ("POST", "/v1/applications"): roles(BANK_SYSTEM, RM),
    ("GET", "/v1/applications"): roles(BANK_SYSTEM, RM, OFFICER, ADMIN),
    ("GET", "/v1/applications/{application_id}"): roles(BANK_SYSTEM, RM, OFFICER, ADMIN),
    ("POST", "/v1/applications/{application_id}/submit"): roles(BANK_SYSTEM, RM),
    ("POST", "/v1/applications/{application_id}/review"): roles(OFFICER),
    ("POST", "/v1/applications/{application_id}/return"): roles(OFFICER),
    ("POST", "/v1/applications/{application_id}/withdraw"): roles(BANK_SYSTEM, RM),
    ("POST", "/v1/applications/{application_id}/decision"): roles(OFFICER),
    # Pricing: the credit officer quotes; admins read (README: every read).
    ("POST", "/v1/applications/{application_id}/quotes"): roles(OFFICER),
    ("GET", "/v1/applications/{application_id}/quotes"): roles(OFFICER, ADMIN),
    ("PUT", "/v1/lpr/{fixing_date}"): roles(ADMIN),
    ("GET", "/v1/lpr"): BANK,
    # Pledges.
    ("GET", "/v1/pledges"): BANK,
    ("GET", "/v1/pledges/{pledge_id}"): BANK,
    ("POST", "/v1/pledges/{pledge_id}/registration"): roles(OFFICER),
    ("POST", "/v1/pledges/{pledge_id}/release"): roles(OFFICER, ADMIN),
    # Loans.
    ("POST", "/v1/applications/{application_id}/disbursement"): roles(OFFICER),
    ("GET", "/v1/loans"): BANK,
    ("GET", "/v1/loans/{loan_id}"): BANK,
    ("POST", "/v1/loans/{loan_id}/repayments"): roles(OFFICER),
    ("POST", "/v1/loans/{loan_id}/default"): roles(OFFICER),
    ("GET", "/v1/loans/{loan_id}/payoff"): roles(OFFICER, BANK_SYSTEM, RM, ADMIN),
    # District subsidies: admins define programmes; the district's bureau reads and decides.
    ("POST", "/v1/subsidy-programs"): roles(ADMIN),
    ("GET", "/v1/subsidy-programs"): roles(ADMIN, BUREAU),
    ("GET", "/v1/subsidy-programs/{program_id}"): roles(ADMIN, BUREAU),
    ("GET", "/v1/subsidy-claims"): roles(ADMIN, BUREAU),
    ("GET", "/v1/subsidy-claims/{claim_id}"): roles(ADMIN, BUREAU),
    ("POST", "/v1/subsidy-claims/{claim_id}/decision"): roles(BUREAU),
    ("POST", "/v1/subsidy-claims/{claim_id}/payment"): roles(BUREAU),
    # Webhooks: admins.
    ("POST", "/v1/webhook-endpoints"): roles(ADMIN),
    ("GET", "/v1/webhook-endpoints"): roles(ADMIN),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): roles(ADMIN),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): roles(ADMIN),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/disable"): roles(ADMIN),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/enable"): roles(ADMIN),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): roles(ADMIN),
    ("GET", "/v1/webhook-events"): roles(ADMIN),
    ("POST", "/v1/webhook-events/{event_id}/redeliver"): roles(ADMIN),
    # Securitisation pools: the structured-finance desk; admins read (README: every read).
    ("POST", "/v1/pools"): roles(SECURITIZATION),
    ("GET", "/v1/pools"): roles(SECURITIZATION, ADMIN),
    ("GET", "/v1/pools/{pool_id}"): roles(SECURITIZATION, ADMIN),
    ("POST", "/v1/pools/{pool_id}/selection"): roles(SECURITIZATION),
    ("POST", "/v1/pools/{pool_id}/loans"): roles(SECURITIZATION),
    ("DELETE", "/v1/pools/{pool_id}/loans/{loan_id}"): roles(SECURITIZATION),
    ("POST", "/v1/pools/{pool_id}/lock"): roles(SECURITIZATION),
    ("POST", "/v1/pools/{pool_id}/transfer"): roles(SECURITIZATION),
    ("GET", "/v1/pools/{pool_id}/tape"): roles(SECURITIZATION, ADMIN),
    ("POST", "/v1/pools/{pool_id}/projections"): roles(SECURITIZATION),
    ("GET", "/v1/pools/{pool_id}/projections/{projection_id}"): roles(SECURITIZATION, ADMIN),
    ("GET", "/v1/pools/{pool_id}/projections/{projection_id}/chart.svg"): roles(
        SECURITIZATION, ADMIN
    ),
    ("POST", "/v1/pools/{pool_id}/projection-grid"): roles(SECURITIZATION),
    # The calendar: any key reads; admins publish and correct.
    ("GET", "/v1/calendar/working-days"): ANY_KEY,
    ("GET", "/v1/calendar/days"): ANY_KEY,
    ("GET", "/v1/calendar/years/{year}"): ANY_KEY,
    ("PUT", "/v1/calendar/years/{year}"): roles(ADMIN),
    ("PUT", "/v1/calendar/days/{day}"): roles(ADMIN),
    # Reports: bank roles; bureaus their district's subsidies.
    ("GET", "/v1/reports/sla"): BANK,
    ("GET", "/v1/reports/campaign"): BANK,
    ("GET", "/v1/reports/subsidies"): BANK | {BUREAU},
    ("GET", "/v1/reports/portfolio"): BANK | {BUREAU},
    # Keys and audit: admins.
    ("POST", "/v1/api-keys"): roles(ADMIN),
    ("GET", "/v1/api-keys"): roles(ADMIN),
    ("POST", "/v1/api-keys/{key_id}/revoke"): roles(ADMIN),
    ("GET", "/v1/audit-events"): roles(ADMIN),
}

SUBJECTS = {RM: "RM900001", BUREAU: "440307"}
# Values for path parameters, by the parameter's name; ids name nothing that exists.
PATH_VALUES = {"fixing_date": "2026-01-05", "year": "2026", "day": "2026-01-05"}
_PARAM = re.compile(r"\{[^}]+\}")


def shape(path: str) -> str:
    """A path template with its parameter names blanked: ``/v1/pools/{}/loans/{}``."""
    return _PARAM.sub("{}", path)


def _app_operations(app: FastAPI) -> dict[tuple[str, str], object]:
    operations = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = getattr(route, "path", "")
        if not path.startswith("/v1"):
            continue
        for method in route.methods - {"HEAD", "OPTIONS"}:
            operations[(method, shape(path))] = route
    return operations


TABLE = {(method, shape(path)): (path, allowed) for (method, path), allowed in ACCESS.items()}


def _concrete(path: str) -> str:
    return _PARAM.sub(lambda m: PATH_VALUES.get(m.group(0)[1:-1], UNKNOWN_ID), path)


def _body_for(method: str) -> dict | None:
    return {} if method in ("POST", "PUT", "PATCH") else None


class TestTheTableIsTheApp:
    def test_every_app_operation_has_a_row_and_every_row_an_operation(self, app):
        in_app = set(_app_operations(app))
        in_table = set(TABLE)
        unlisted = sorted(f"{m} {p}" for m, p in in_app - in_table)
        missing = sorted(f"{m} {TABLE[(m, p)][0]}" for m, p in in_table - in_app)
        assert not unlisted, (
            "operations in the app with no row in ACCESS (write down who may call them): "
            + ", ".join(unlisted)
        )
        assert not missing, "rows in ACCESS the app does not have yet: " + ", ".join(missing)

    @pytest.mark.parametrize("row", sorted(TABLE), ids=lambda r: f"{r[0]} {TABLE[r][0]}")
    def test_declared_roles_are_the_tables(self, app, row):
        route = _app_operations(app).get(row)
        assert route is not None, f"{row[0]} {TABLE[row][0]} is not in the app yet"
        _, allowed = TABLE[row]
        assert route.access.public is False
        assert route.access.roles == allowed, (
            f"{row[0]} {route.path}: route allows {sorted(route.access.roles)}, "
            f"the table {sorted(allowed)}"
        )
        documented = app.openapi()["paths"][route.path][row[0].lower()]
        assert documented["x-roles"] == sorted(r.value for r in allowed)
        assert documented["security"] == [{"bearerAuth": []}]


@pytest.fixture
async def role_keys(make_key):
    return {role: await make_key(role, SUBJECTS.get(role)) for role in Role}


@pytest.fixture(scope="module")
def identity_provider():
    yield from running_issuer()


@pytest.fixture(params=["api key", "oidc token"])
async def callers(request, app, client, role_keys, identity_provider):
    """Credentials of every role: API keys, or the bank's identity provider's tokens."""
    if request.param == "api key":
        return role_keys
    config = OidcConfig(issuer=identity_provider.url, audience=AUDIENCE)
    app.state.keys.tokens = TokenVerifier(config).authenticate
    return {
        role: {"Authorization": f"Bearer {identity_provider.token(role, SUBJECTS.get(role))}"}
        for role in Role
    }


@pytest.fixture
async def revoked_keys(client, make_key, role_keys):
    """A key of every role, revoked through the API."""
    keys = {}
    for role in Role:
        headers = await make_key(role, SUBJECTS.get(role))
        response = await client.post(
            f"/v1/api-keys/{headers['X-Key-Id']}/revoke", headers=role_keys[ADMIN]
        )
        assert response.status_code == 200, response.text
        keys[role] = headers
    return keys


@pytest.mark.parametrize("row", sorted(TABLE), ids=lambda r: f"{r[0]} {TABLE[r][0]}")
async def test_every_role_is_let_in_or_refused_as_the_table_says(app, client, callers, row):
    route = _app_operations(app).get(row)
    assert route is not None, f"{row[0]} {TABLE[row][0]} is not in the app yet"
    method, _ = row
    _, allowed = TABLE[row]
    url = _concrete(route.path)
    for role in Role:
        response = await client.request(method, url, json=_body_for(method), headers=callers[role])
        if role in allowed:
            # Past authorisation: whatever the made-up id or empty body earns, it is not a
            # refusal of the key, and not a failure.
            assert response.status_code not in (401, 403), (role, method, url, response.text)
            assert response.status_code < 500, (role, method, url, response.text)
        else:
            assert response.status_code == 403, (role, method, url, response.text)
            assert problem_of(response)["type"].endswith("/problems/forbidden")


BAD_AUTHORIZATION = {
    "no key": None,
    "not bearer": "Basic YWRtaW46YWRtaW4=",
    "malformed": "Bearer ipk_not-a-key",
    "unknown": "Bearer ipk_" + "0" * 32 + "_" + "A" * 43,
}


@pytest.mark.parametrize("row", sorted(TABLE), ids=lambda r: f"{r[0]} {TABLE[r][0]}")
async def test_no_malformed_unknown_or_revoked_key_is_401(app, client, revoked_keys, row):
    route = _app_operations(app).get(row)
    assert route is not None, f"{row[0]} {TABLE[row][0]} is not in the app yet"
    method, _ = row
    _, allowed = TABLE[row]
    url = _concrete(route.path)
    attempts = dict(BAD_AUTHORIZATION)
    # A revoked key of a role that could otherwise call the operation: only revocation bars it.
    revoked = revoked_keys[sorted(allowed)[0]]
    attempts["revoked"] = revoked["Authorization"]
    for what, authorization in attempts.items():
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await client.request(method, url, json=_body_for(method), headers=headers)
        assert response.status_code == 401, (what, method, url, response.text)
        assert problem_of(response)["type"].endswith("/problems/unauthenticated")
