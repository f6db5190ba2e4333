"""An OpenID Connect provider for tests: its discovery document and key set served over HTTP on
127.0.0.1 by a thread, and tokens signed with its keys (or forged in the ways attackers try)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "ipledge-api"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @classmethod
    def rsa(cls, kid: str) -> SigningKey:
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        data = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


@dataclass
class Issuer:
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.rsa("rsa-1")])
    fetches: dict[str, int] = field(default_factory=dict)
    jwks_uri: str | None = None  # what discovery announces; by default its own /jwks
    announced_issuer: str | None = None  # the issuer discovery names; by default its own URL
    failing: dict[str, int] = field(default_factory=dict)  # path: the error status it answers
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Issuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches[self.path] = issuer.fetches.get(self.path, 0) + 1
                if self.path in issuer.failing:
                    self.send_error(issuer.failing[self.path])
                    return
                announced = issuer.announced_issuer
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url if announced is None else announced,
                        "jwks_uri": issuer.jwks_uri or f"{issuer.url}/jwks",
                    }
                elif self.path == "/jwks":
                    body = {"keys": [key.jwk() for key in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def jwks_fetches(self) -> int:
        return self.fetches.get("/jwks", 0)

    @property
    def discovery_fetches(self) -> int:
        return self.fetches.get("/.well-known/openid-configuration", 0)

    def claims(self, role: str, subject: str | None = None, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"user-{role}",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "ipledge_role": role,
        }
        if subject is not None:
            claims["ipledge_subject"] = subject
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], key: SigningKey | None = None) -> str:
        key = key or self.keys[0]
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})

    def token(self, role: str, subject: str | None = None, **overrides: Any) -> str:
        return self.sign(self.claims(role, subject, **overrides))

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """The classic confusion: HMAC keyed with the issuer's public key."""
        key = self.keys[0]
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
        body = _b64(json.dumps(claims).encode())
        mac = hmac.new(key.public_pem(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(mac)}"


def running_issuer() -> Iterator[Issuer]:
    issuer = Issuer().start()
    try:
        yield issuer
    finally:
        issuer.stop()
