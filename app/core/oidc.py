"""Bearer tokens from the bank's OpenID Connect provider.

When ``IPLEDGE_OIDC_ISSUER`` and ``IPLEDGE_OIDC_AUDIENCE`` are set, a bearer token that is not an
API key is read as a JWT signed by that issuer: RS256 or ES256 only, checked against the keys
its discovery document (``{issuer}/.well-known/openid-configuration``, which must name that
very issuer) points to, with ``exp``, ``nbf``, ``iat``, ``iss`` and ``aud`` enforced. The role
and, for the roles that need one, the subject come from configurable claims; the caller then is
exactly what a key of that role and subject would be.

Signing keys are cached. A token naming a key the cache does not hold makes it fetch the key set
again (how a provider's key rotation reaches us), but at most once per ``refresh_interval_s``,
so a stream of made-up key ids costs the provider nothing and this process bounded work.

Every refusal is the same 401 as an unknown API key, whatever went wrong: an attacker learns
nothing from it. The reason is logged by name only, never with the token. A token whose key
cannot be had because the provider is away, answers with an error or announces another issuer
in its discovery document is not refused but answered 503, as an unreachable database is: the
caller's credentials were not judged, and it may retry.
"""

from __future__ import annotations

import asyncio
import json
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

import httpx
import jwt
import structlog

from app.config import Settings, key_source_url
from app.core.context import Principal
from app.core.errors import ServiceUnavailable, Unauthenticated
from app.core.roles import DISTRICT_CODE, RM_ID, SUBJECT_ROLES, Role

log = structlog.get_logger("ipledge.oidc")

# The only signatures accepted, by key type; a key of another type or curve is never used.
ALGORITHM_OF_KEY_TYPE = {"RSA": "RS256", "EC": "ES256"}
LEEWAY_S = 30
MAX_TOKEN_CHARS = 8192
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_SUBJECT_CHARS = 255
MAX_ROLE_SUBJECT_CHARS = 64
# A token's principal has a stable id of its own, derived from issuer, ``sub``, role and
# subject: the audit trail's ``actor_key_id`` and the scope of its Idempotency-Keys. Anyone can
# recompute it: uuid5(OIDC_ACTOR_NAMESPACE, "<issuer>\n<sub>\n<role>\n<subject>").
OIDC_ACTOR_NAMESPACE = UUID("6f1c1b0e-7d36-5b6a-9c8e-1a2b3c4d5e6f")
UNKNOWN = "unknown API key"
PROVIDER_AWAY = "the identity provider could not be asked for the key of this token; retry shortly"

Fetch = Callable[[str], Awaitable[Any]]


class ProviderUnavailable(Exception):
    """The provider's key set cannot be had: unreachable, answering with an error, or serving
    documents that cannot be trusted. Not the token's fault; its message says what failed."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    role_claim: str = "ipledge_role"
    subject_claim: str = "ipledge_subject"


def actor_id(issuer: str, sub: str, role: Role, subject: str | None) -> UUID:
    """The key id a token acts under: one person in one role for one subject, so that an
    Idempotency-Key never replays an answer made under authority the person no longer has."""
    return uuid5(OIDC_ACTOR_NAMESPACE, f"{issuer}\n{sub}\n{role.value}\n{subject or ''}")


async def fetch_json(url: str) -> Any:
    """GET a small JSON document (the discovery document, the key set)."""
    async with (
        httpx.AsyncClient(timeout=5.0, follow_redirects=False) as http,
        http.stream("GET", url, headers={"Accept": "application/json"}) as response,
    ):
        response.raise_for_status()
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError("document too large")
        return json.loads(bytes(body))


def _usable_key(data: Any) -> tuple[str, jwt.PyJWK] | None:
    """A signing key we may use, by its ``kid``: RSA for RS256, P-256 for ES256."""
    if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
        return None
    algorithm = ALGORITHM_OF_KEY_TYPE.get(data.get("kty", ""))
    if algorithm is None or data.get("use", "sig") != "sig":
        return None
    if data.get("alg", algorithm) != algorithm:
        return None
    if data["kty"] == "EC" and data.get("crv") != "P-256":
        return None
    try:
        return data["kid"], jwt.PyJWK(data, algorithm=algorithm)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None


class SigningKeys:
    """The issuer's JWKS, found through its discovery document and cached."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Fetch = fetch_json,
        refresh_interval_s: float = 30.0,
        max_age_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer  # exactly as configured: what the discovery document must name
        self._fetch = fetch
        self._interval = refresh_interval_s
        self._max_age = max_age_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._failure: str | None = None  # why the last attempt failed, if it did
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``, or None when the provider does not hold it. When it is not
        held here and the provider could not be asked, ``ProviderUnavailable``: whether the
        provider holds it is not known."""
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self._max_age
        failed_now = (stale or kid not in self._keys) and not await self._refresh()
        key = self._keys.get(kid)
        if key is None and self._failure is not None:
            raise ProviderUnavailable(self._failure)
        if failed_now:  # the provider is away, the key in hand stays in use
            log.warning("oidc key set unavailable; the keys held stay in use", reason=self._failure)
        return key

    async def _refresh(self) -> bool:
        """Fetch the key set again, unless fetched (or tried) within the interval. False when
        this call tried and failed."""
        async with self._lock:
            # Whoever waited for the lock while another refreshed uses what it fetched; and
            # nobody fetches more often than once per interval, whatever the tokens say.
            if self._tried_at is not None and self._clock() - self._tried_at < self._interval:
                return True
            self._tried_at = self._clock()
            try:
                keys = await self._load()
            except Exception as exc:  # the provider is away or wrong: keep the keys we had
                self._failure = (
                    str(exc) if isinstance(exc, ProviderUnavailable) else type(exc).__name__
                )
                # An error, once per attempt (at most once per interval): an outage and a
                # misconfiguration (another issuer named, no such document) alike need an
                # operator, and neither passes by itself if it is the latter.
                log.error("oidc key set could not be fetched", reason=self._failure)
                return False
            self._keys, self._fetched_at, self._failure = keys, self._clock(), None
            return True

    async def _load(self) -> dict[str, jwt.PyJWK]:
        base = self._issuer.rstrip("/")
        discovery = await self._document(
            "discovery document", f"{base}/.well-known/openid-configuration"
        )
        announced = discovery.get("issuer")
        if announced != self._issuer:
            # OpenID Connect Discovery 1.0, section 4.3: they must be identical, or the keys
            # it points to may be another issuer's.
            named = repr(announced[:200]) if isinstance(announced, str) else "none"
            raise ProviderUnavailable(
                f"discovery document names issuer {named}, not {self._issuer!r}"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not key_source_url(jwks_uri):
            raise ProviderUnavailable("discovery document without an https jwks_uri")
        entries = (await self._document("key set", jwks_uri)).get("keys")
        if not isinstance(entries, list):
            raise ProviderUnavailable("key set without keys")
        return dict(key for key in map(_usable_key, entries) if key is not None)

    async def _document(self, what: str, url: str) -> dict[str, Any]:
        """One of the provider's JSON documents, or ``ProviderUnavailable`` saying why not."""
        try:
            document = await self._fetch(url)
        except httpx.HTTPStatusError as exc:
            raise ProviderUnavailable(f"{what}: HTTP {exc.response.status_code}") from exc
        except Exception as exc:
            raise ProviderUnavailable(f"{what}: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{what}: not a JSON object")
        return document


def _text(value: Any, limit: int) -> str | None:
    """A claim usable as a name: a non-empty string of printable characters, not too long."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return None
    return value


class TokenVerifier:
    def __init__(self, config: OidcConfig, keys: SigningKeys | None = None) -> None:
        self.config = config
        self.keys = keys or SigningKeys(config.issuer)

    async def authenticate(self, token: str) -> Principal:
        """The caller a token names; 401 exactly as for an unknown API key, or 503 when the
        provider could not be asked for the token's key."""
        try:
            principal = await self._verify(token)
        except ProviderUnavailable as exc:
            log.warning("oidc provider unavailable", reason=str(exc))
            raise ServiceUnavailable(PROVIDER_AWAY) from None
        except Exception as exc:  # any refusal, expected or not, is the same 401
            log.info("oidc token refused", reason=type(exc).__name__)
            raise Unauthenticated(UNKNOWN) from None
        if principal is None:
            log.info("oidc token refused", reason="claims")
            raise Unauthenticated(UNKNOWN)
        return principal

    async def _verify(self, token: str) -> Principal | None:
        if len(token) > MAX_TOKEN_CHARS:
            return None
        header = jwt.get_unverified_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHM_OF_KEY_TYPE.values() or not isinstance(kid, str):
            return None
        key = await self.keys.get(kid)
        if key is None or key.algorithm_name != algorithm:
            return None
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=self.config.audience,
            issuer=self.config.issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal | None:
        sub = _text(claims.get("sub"), MAX_SUBJECT_CHARS)
        role_value = claims.get(self.config.role_claim)
        if sub is None or role_value not in {role.value for role in Role}:
            return None
        role = Role(role_value)
        if role in SUBJECT_ROLES:
            # The relationship manager's id or the bureau's district code, as on a key.
            # Written as a key's subject must be, so that what a token's caller stores (an
            # application's manager) is a value the service reads and filters by like any other.
            subject = _text(claims.get(self.config.subject_claim), MAX_ROLE_SUBJECT_CHARS)
            pattern = RM_ID if role is Role.RELATIONSHIP_MANAGER else DISTRICT_CODE
            if subject is None or not pattern.fullmatch(subject):
                return None
        else:
            # Roles without a subject: the audit trail names the person signed in.
            subject = f"oidc:{sub}"
        return Principal(
            key_id=actor_id(self.config.issuer, sub, role, subject),
            role=role,
            subject=subject,
            signed_in_as=sub,
        )


def verifier_for(settings: Settings) -> Callable[[str], Awaitable[Principal]] | None:
    """The token check for these settings, or None when no provider is configured."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_audience:
        raise ValueError("IPLEDGE_OIDC_ISSUER is set without IPLEDGE_OIDC_AUDIENCE")
    config = OidcConfig(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        role_claim=settings.oidc_role_claim,
        subject_claim=settings.oidc_subject_claim,
    )
    return TokenVerifier(config).authenticate
