"""Standard Webhooks signing (https://www.standardwebhooks.com): ``whsec_`` secrets, the
``v1`` HMAC-SHA256 signature over ``{id}.{timestamp}.{body}``, and the message body.

Small enough to own: the reference library signs text, and the body here is bytes that must be
signed exactly as they are sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

import orjson

from app.core.schemas import to_shanghai

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per live secret, space-separated: a receiver still holding the previous
    secret keeps verifying through the rotation window."""
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def message_body(event_type: str, occurred_at: datetime, data_json: str) -> bytes:
    """``{"type", "timestamp", "data"}``. ``data_json`` is the event's stored JSON text, spliced
    in unparsed, so numbers reach the receiver exactly as they were written."""
    return b"".join(
        (
            b'{"type":',
            orjson.dumps(event_type),
            b',"timestamp":',
            orjson.dumps(to_shanghai(occurred_at)),
            b',"data":',
            data_json.encode(),
            b"}",
        )
    )
