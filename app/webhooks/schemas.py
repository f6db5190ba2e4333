from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from app.core.schemas import Strict, Timestamp
from app.core.types import FreeText, Line, Text
from app.models.webhook_delivery import DeliveryStatus
from app.webhooks.events import EVENT_TYPES


class WebhookEndpointCreate(Strict):
    url: Line = Field(
        max_length=2048,
        description="http(s) URL; it must resolve to public addresses only.",
        examples=["https://kjj.lg.gov.cn/ipledge/webhooks"],
    )
    event_types: list[Text] = Field(
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="The event types to receive: " + ", ".join(f"`{t}`" for t in EVENT_TYPES),
        examples=[["subsidy.claim.created", "subsidy.claim.paid"]],
    )
    district_code: Text | None = Field(
        default=None,
        description="Only events about this district (GB/T 2260 code). The pool events are "
        "about no one district, so an endpoint bound to one may not subscribe to them.",
    )


class WebhookEndpointDisable(Strict):
    reason: FreeText | None = Field(default=None, max_length=500)


class WebhookEndpointOut(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    district_code: str | None
    enabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: Timestamp | None = Field(
        description="Until then the previous secret also signs every delivery."
    )
    created_at: Timestamp
    updated_at: Timestamp
    version: int


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str | None = Field(
        description="The signing secret (`whsec_` + base64). Shown only in this response: null "
        "when the response is replayed for its Idempotency-Key."
    )


class WebhookAttemptOut(BaseModel):
    id: str
    event_id: UUID
    endpoint_id: UUID
    attempted_at: Timestamp
    status_code: int | None = Field(description="The receiver's answer; null if none came.")
    latency_ms: int
    error: str | None = Field(description="Why no answer came (timeout, refused address…).")


class WebhookDeliveryOut(BaseModel):
    endpoint_id: UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None


class WebhookEventOut(BaseModel):
    id: UUID
    type: str
    occurred_at: Timestamp
    created_at: Timestamp
    district_code: str | None
    data: Any
    status: DeliveryStatus = Field(
        description="failed if any delivery failed, pending if any is still to be made, "
        "else delivered."
    )
    deliveries: list[WebhookDeliveryOut]
