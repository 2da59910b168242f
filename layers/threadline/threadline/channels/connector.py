"""Connector channels (Signal, Telegram, WeChat): replies go back through the connector's own callback.

A reply is delivered to the connection's `outbound_url` as a signed `message.outbound` delivery on the machinery
webhooks use (threadline.delivery.dispatcher: the same signature headers, at least once, 24 hours of retries with
backoff). The delivery is written by `stage`, in the transaction that stores the reply `pending`, so the two commit
together; `send` only hands it to the dispatcher after the commit and answers `Queued`. What becomes of it is the
connection target's (threadline.domain.replies.connector_callbacks): a 2xx answer makes the message `sent` (with the
platform's id when the answer names it), a delivery given up makes it `failed`; later statuses come back through
POST /v1/ingest/statuses.

Its reply rules are the channels': WeChat 48 hours and 5 replies per window (the Official Account rule), Telegram and
Signal none; each connection may change its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from threadline.channels.base import (
    ChannelRoute,
    OutboundMessage,
    Queued,
    ReplyRule,
    SendOutcome,
    SendTarget,
)
from threadline.delivery.outbox import DeliveryTarget, enqueue_delivery, hand_over_deliveries
from threadline.errors import InvalidRequest
from threadline.vocabulary import Platform

OUTBOUND_EVENT = "message.outbound"


@dataclass(frozen=True)
class ConnectorCallbackChannel:
    platform: Platform
    default_reply_rule: ReplyRule
    provider: str = "The connector"
    templates_outside_window: bool = False
    # A reply is pending while its delivery is (24 hours of retries): the delivery's end decides it.
    confirms_sends: bool = False

    def check_can_send(self) -> None:
        return None

    def route(self, target: SendTarget) -> ChannelRoute:
        if target.connection_uuid is None or target.connection_id is None:
            raise InvalidRequest(f"This {self.platform} conversation has no connection to reply through")
        if not target.outbound_url:
            raise InvalidRequest(
                f"The connection {target.connection_id} has no outbound_url, so replies to {self.platform} "
                "conversations cannot be delivered: set one with "
                f"`threadline connection update {target.connection_id} --outbound-url URL`"
            )
        return ChannelRoute(
            sender=target.connection_id,
            recipient=target.contact_identifier or "",
            thread=target.external_conversation_id,
            connection=target.connection_uuid,
        )

    def stage(self, conn: psycopg.Connection[Any], message: OutboundMessage) -> None:
        if message.content.template is not None:
            raise InvalidRequest(f"Templates are WhatsApp's: send content or media to {self.platform} conversations")
        assert message.route.connection is not None  # route() refuses a conversation without one
        enqueue_delivery(
            conn,
            DeliveryTarget("connection", message.route.connection),
            tenant_id=message.tenant_id,
            event_type=OUTBOUND_EVENT,
            data=outbound_data(self.platform, message),
        )

    def send(self, message: OutboundMessage, *, deadline: float) -> SendOutcome:
        # Committed with the message: the dispatcher takes it from here (the scheduled sweep if this hand-over fails).
        hand_over_deliveries(message.tenant_id)
        return Queued()


def outbound_data(platform: str, message: OutboundMessage) -> dict[str, Any]:
    """The `data` of a message.outbound delivery (docs/connector-callbacks.md)."""
    content, media = message.content, message.content.media
    return {
        "message_id": message.message_id,
        "platform": platform,
        "connection_id": message.route.sender,
        "external_conversation_id": message.route.thread,
        "participant_identifier": message.route.recipient,
        "type": message.type,
        "content": content.text or "",
        "media_url": media.url if media is not None else None,
        "media_filename": media.filename if media is not None else None,
        "reply_to_external_id": content.reply_to,
    }
