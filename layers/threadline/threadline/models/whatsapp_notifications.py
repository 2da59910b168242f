"""The WhatsApp webhook's handshake and acknowledgement (Meta's notification itself is
threadline.meta.webhook.WhatsAppNotification, next to the parsing it belongs to)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SUBSCRIBE_MODE = "subscribe"
MAX_CHALLENGE_CHARS = 1_024
# Lambda's synchronous request payload limit (6 MB), as ingest counts it: in AWS a larger notification never reaches
# the function; anywhere else (make dev, or should that limit move) the function refuses it before any work.
MAX_NOTIFICATION_BYTES = 6_000_000
NOTIFICATION_TOO_LARGE_MESSAGE = (
    f"Request body too large: at most {MAX_NOTIFICATION_BYTES} bytes (Lambda's request payload limit)"
)


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
