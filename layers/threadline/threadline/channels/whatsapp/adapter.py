"""WhatsApp through Meta's Cloud API: the adapter that turns a channel-neutral message into Meta's payload, and
Meta's errors into channel-neutral outcomes (the only place that knows Meta's exception classes on the send path).

Meta's rule: a free reply may go out for 24 hours after the customer's last message to this business number
(the customer-service window); templates may go out at any time, which is how a business re-opens a conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from threadline.channels.base import (
    ChannelRoute,
    NotSent,
    OutboundMessage,
    OutcomeUnknown,
    Refused,
    ReplyRule,
    SendOutcome,
    SendTarget,
    Sent,
    WindowClosed,
)
from threadline.errors import InvalidRequest
from threadline.meta.config import get_meta_settings
from threadline.meta.errors import MetaApiError, MetaError, MetaUnavailable, MetaWindowClosed
from threadline.meta.messages import media_payload, reaction_payload, template_payload, text_payload
from threadline.models.uploads import VOICE_NOTE_TYPE
from threadline.vocabulary import Platform

CUSTOMER_SERVICE_WINDOW_HOURS = 24
CUSTOMER_SERVICE_RULE = ReplyRule(window_hours=CUSTOMER_SERVICE_WINDOW_HOURS, max_replies=None)


@dataclass(frozen=True)
class WhatsAppChannel:
    platform: Platform = "whatsapp"
    provider: str = "Meta"
    default_reply_rule: ReplyRule = CUSTOMER_SERVICE_RULE
    templates_outside_window: bool = True
    confirms_sends: bool = True  # Meta's status webhooks confirm every accepted send

    def check_can_send(self) -> None:
        return None

    def route(self, target: SendTarget) -> ChannelRoute:
        # A customer who hides their number behind a username is reached by their BSUID (Meta's `recipient`).
        recipient = target.contact_phone_digits or target.contact_platform_user_id
        if not recipient:
            raise InvalidRequest("This contact has no WhatsApp phone number or user id to send to")
        phone_number_id = target.phone_number_id or get_meta_settings().default_phone_number_id
        if not phone_number_id:
            raise InvalidRequest(
                "No WhatsApp number is configured to send from: add a connection with a phone number id"
            )
        return ChannelRoute(sender=phone_number_id, recipient=recipient)

    def stage(self, conn: psycopg.Connection[Any], message: OutboundMessage) -> None:
        # Meta is called after the commit; nothing else commits with the message. A template send is checked
        # against the account's synced template first: a refusal here rolls the whole send back.
        if message.content.template is not None:
            # Imported here, where it is used: the synced templates' modules (Meta's template reader, their models
            # and repository) cost every function that loads this channel for its reply rule, and only a template
            # send needs them.
            from threadline.channels.whatsapp.templates import check_template_send

            check_template_send(conn, message.route.sender, message.content.template)

    def mark_read(self, *, sender: str | None, message_external_id: str, deadline: float) -> None:
        """Meta's read receipt: marks the wamid (and every earlier message of the chat) read."""
        # Imported only when a receipt goes out: the Graph client brings requests (about 35 ms of a cold start),
        # and a tenant on the default policy (`never`) never sends one, so the agent routes that mark read load
        # it only for tenants that asked for receipts.
        from threadline.meta.client import get_meta_client

        phone_number_id = sender or get_meta_settings().default_phone_number_id or ""
        get_meta_client().mark_read(phone_number_id, message_external_id, deadline=deadline)

    def send(self, message: OutboundMessage, *, deadline: float) -> SendOutcome:
        return _through_meta(lambda client: _send_message(client, message, deadline=deadline))

    def send_reaction(
        self, route: ChannelRoute, *, message_external_id: str, emoji: str, deadline: float
    ) -> SendOutcome:
        """The business's reaction on a message of the chat (its wamid); "" takes it away."""
        payload = reaction_payload(route.recipient, message_external_id, emoji)
        return _through_meta(lambda client: client.send_message(route.sender, payload, deadline=deadline).wamid)


def _send_message(client: Any, message: OutboundMessage, *, deadline: float) -> str:
    """Meta's wamid for the message: an agent's upload goes to Meta first and is sent by id (a voice note as
    audio/ogg; codecs=opus), anything else is one send."""
    media_id = None
    media = message.content.media
    if media is not None and media.content is not None:
        media_id = client.upload_media(
            message.route.sender,
            media.content,
            mime_type=whatsapp_upload_type(media.mime_type),
            filename=media.filename or "file",
            deadline=deadline,
        )
    sent = client.send_message(message.route.sender, meta_payload(message, media_id=media_id), deadline=deadline)
    return str(sent.wamid)


def _through_meta(call: Callable[[Any], str]) -> SendOutcome:
    """Run one call to Meta (given the Graph client; it answers the wamid), its answer as a channel-neutral outcome
    (Meta's errors never leave this module)."""
    # Imported here, where it is used: the Graph client brings requests (about 40 ms of a cold start), and most
    # functions load this channel only for its reply rule (the conversation list, PATCH, the scheduled run). The
    # send function loads the client at init itself.
    from threadline.meta.client import get_meta_client

    try:
        wamid = call(get_meta_client())
    except MetaWindowClosed as error:
        return WindowClosed(code=error.code, title=error.title, details=error.details)
    except MetaApiError as error:
        return Refused(code=error.code, title=error.title, details=error.details)
    except MetaUnavailable as error:
        if error.outcome_unknown:
            return OutcomeUnknown(title=error.title, details=error.message)
        return NotSent(
            code=error.code,
            title=error.title,
            details=error.details,
            explanation="Meta could not be reached; the message was not sent",
            explanation_details=error.message,
        )
    except MetaError as error:
        # Not configured, or an answer we could not read before sending: nothing went out.
        return NotSent(
            code=error.code,
            title=error.title,
            details=error.details,
            explanation=f"Meta could not be used: {error.message}",
        )
    return Sent(external_id=wamid)


def whatsapp_upload_type(mime_type: str | None) -> str:
    """Meta takes audio/ogg only as Opus, and a voice note is exactly that: say so."""
    if mime_type is None:
        return "application/octet-stream"
    return VOICE_NOTE_TYPE if mime_type.split(";", 1)[0].strip().lower() == "audio/ogg" else mime_type


def meta_payload(message: OutboundMessage, *, media_id: str | None = None) -> dict[str, object]:
    """Meta's body for one message. Our external id travels as `biz_opaque_callback_data`, so Meta's status
    webhooks can complete the row even when our own update never happened."""
    to, content, callback = message.route.recipient, message.content, message.external_id
    if content.template is not None:
        template = content.template
        return template_payload(to, template.name, template.language, template.components, callback_data=callback)
    if content.media is not None:
        media = content.media
        return media_payload(
            to,
            media.type,
            media.url,
            caption=content.text,
            filename=media.filename if media.type == "document" else None,
            reply_to=content.reply_to,
            callback_data=callback,
            media_id=media_id,
        )
    assert content.text is not None
    return text_payload(to, content.text, reply_to=content.reply_to, callback_data=callback)
