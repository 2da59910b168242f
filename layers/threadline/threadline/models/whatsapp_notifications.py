"""The WhatsApp webhook's handshake and acknowledgement (Meta's notification itself is
threadline.meta.webhook.WhatsAppNotification, next to the parsing it belongs to)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SUBSCRIBE_MODE = "subscribe"
MAX_CHALLENGE_CHARS = 1_024


class WebhookVerification(BaseModel):
    """Meta's subscription handshake."""

    model_config = ConfigDict(populate_by_name=True)

    mode: Literal["subscribe"] = Field(alias="hub.mode")
    verify_token: str = Field(alias="hub.verify_token", description="the verify token configured for the app")
    challenge: str = Field(
        alias="hub.challenge", min_length=1, max_length=MAX_CHALLENGE_CHARS, description="echoed back on success"
    )


class WebhookAcknowledged(BaseModel):
    success: Literal[True]
