"""Webhook subscriptions for integrations (docs/webhooks.md), also under `/api/v1/...`:

`POST /v1/webhooks` `{url, events: [...], description?}` -> 201 `{id, url, events, description, secret, ...}` (the
secret is shown once); `GET /v1/webhooks`; `DELETE /v1/webhooks/{id}`; `POST /v1/webhooks/{id}/rotate-secret` ->
the new secret (the old one keeps signing beside it for 24 hours); `GET /v1/webhooks/{id}/deliveries`;
`POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver` -> 202 with the delivery, pending again.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from threadline.models.timestamps import JsTimestamp
from threadline.models.validation import NulFreeText
from threadline.vocabulary import DeliveryStatus, EventType

MAX_BODY_BYTES = 16_384
# A webhook's or connector callback's URL (threadline.delivery.addresses checks the same limit).
MAX_URL_CHARS = 2048
MAX_EVENT_TYPES = 50
MAX_DESCRIPTION_CHARS = 500
DELIVERIES_PAGE = 100

WEBHOOK_NOT_FOUND = "Webhook not found"
DELIVERY_NOT_FOUND = "Delivery not found"
EMPTY_BODY_MESSAGE = "Request body is required: {url, events}"
TOO_LARGE_MESSAGE = f"Request body too large: at most {MAX_BODY_BYTES} bytes"
WEBHOOK_ID_EXPLANATION = "id: must be a webhook id (a UUID)"
DELIVERY_ID_EXPLANATION = "delivery_id: must be a delivery id (a UUID)"

SubscribedType = EventType | Literal["*"]


class WebhookCreateRequest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_CHARS)] = Field(
        description="https URL to POST deliveries to (public addresses only)"
    )
    events: Annotated[list[SubscribedType], Field(min_length=1, max_length=MAX_EVENT_TYPES)] = Field(
        description='event types to deliver (docs/events.md), or ["*"] for all'
    )
    description: Annotated[NulFreeText, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)] | None = None

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class Webhook(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    url: str
    events: list[str]
    description: str | None
    is_active: bool = Field(description="false once the receiver answered 410 (deliveries stopped)")
    disabled_reason: str | None
    # Until when the previous secret still signs beside the current one (a rotation in progress), else null.
    previous_secret_expires_at: JsTimestamp | None
    created_at: JsTimestamp


class WebhookCreated(Webhook):
    secret: str = Field(description="the signing secret: shown only now")


class WebhookList(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhooks: list[Webhook]


class WebhookDeleted(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    deleted: Literal[True] = True


class SecretRotated(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    secret: str = Field(description="the new signing secret: shown only now")
    previous_secret_expires_at: JsTimestamp = Field(description="the old secret signs beside it until then")


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID = Field(description="the Threadline-Delivery header: the same on every attempt")
    event: str
    seq: int | None
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    last_error: str | None
    next_attempt_at: JsTimestamp | None = Field(description="when pending: the next attempt")
    created_at: JsTimestamp
    delivered_at: JsTimestamp | None


class DeliveryList(BaseModel):
    model_config = ConfigDict(frozen=True)

    deliveries: list[Delivery] = Field(description=f"newest first, the last {DELIVERIES_PAGE}")
