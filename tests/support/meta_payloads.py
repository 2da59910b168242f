"""Meta-shaped WhatsApp notifications (messages, contacts, statuses) and posting them, signed, to the real
WhatsAppWebhookFunction handler through its API Gateway sample event.

The shapes follow the examples of Meta's Cloud API webhook reference (developers.facebook.com, "messages webhook
reference" and its per-type pages: text, reaction, order, location, contacts, interactive, button, system, edit,
revoke, unsupported, status; and "Business-scoped user IDs"). The ids below are the reference's own example
values where it gives one."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.support.paths import load_event
from threadline.meta.webhook import signature_for

APP_SECRET = "test-app-secret-" + uuid.uuid4().hex
VERIFY_TOKEN = "test-verify-token-" + uuid.uuid4().hex


def now_seconds(offset_seconds: int = 0) -> int:
    return int(time.time()) + offset_seconds


def wamid() -> str:
    return "wamid." + base64.b64encode(uuid.uuid4().bytes).decode()


def text_message(
    message_id: str, body: str, *, sender: str | None = "16505551234", user_id: str | None = None, at: int | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"id": message_id, "timestamp": str(at or now_seconds()), "type": "text"}
    message["text"] = {"body": body}
    if sender:
        message["from"] = sender
    if user_id:
        message["from_user_id"] = user_id
    return message


# Meta's example BSUID and parent BSUID (the business-scoped user ids of users who adopted a username).
EXAMPLE_BSUID = "US.13491208655302741918"
EXAMPLE_PARENT_BSUID = "US.ENT.11815799212886844830"


def inbound(
    message_id: str,
    message_type: str,
    content: Any,
    *,
    sender: str | None = "16505551234",
    user_id: str | None = None,
    parent_user_id: str | None = None,
    at: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Any incoming message: `content` goes under the type's own name (`"location": {...}`), as Meta sends it."""
    message: dict[str, Any] = {"id": message_id, "timestamp": str(at or now_seconds()), "type": message_type}
    if sender:
        message["from"] = sender
    if user_id:
        message["from_user_id"] = user_id
    if parent_user_id:
        message["from_parent_user_id"] = parent_user_id
    if content is not None:
        message[message_type] = content
    return message | extra


def contact(
    name: str | None = "Sheena Nelson",
    *,
    wa_id: str | None = "16505551234",
    user_id: str | None = None,
    parent_user_id: str | None = None,
    **profile: str,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"profile": ({"name": name} if name else {}) | profile}
    if wa_id:
        entry["wa_id"] = wa_id
    if user_id:
        entry["user_id"] = user_id
    if parent_user_id:
        entry["parent_user_id"] = parent_user_id
    return entry


def status(
    message_id: str, state: str, *, at: int | None = None, callback: str | None = None, **extra: Any
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(at or now_seconds()),
        "recipient_id": "16505551234",
    }
    if callback:
        update["biz_opaque_callback_data"] = callback
    return update | extra


def change(phone_number_id: str, **value: Any) -> dict[str, Any]:
    return {
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        }
        | value,
        "field": "messages",
    }


def notification(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": list(changes)}]}


def webhook_handler() -> Any:
    return load_handler(load_template().functions["WhatsAppWebhookFunction"])


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    content_type: str | None


def invoke(event: dict[str, Any]) -> Answer:
    response = webhook_handler()(event, LocalLambdaContext(function_name="WhatsAppWebhookFunction"))
    content_type = (response.get("headers") or {}).get("Content-Type")
    body = response.get("body")
    if content_type == "application/json":
        body = json.loads(body)
    return Answer(response["statusCode"], body, content_type)


def post(
    payload: Any,
    *,
    secret: str | None = APP_SECRET,
    signature: str | None = None,
    base64_encoded: bool = False,
) -> Answer:
    """POST `payload` (a dict, or the raw body) signed with `secret` unless a `signature` or None is forced."""
    event = load_event("whatsapp-webhook-message.json")
    raw = payload if isinstance(payload, bytes) else (payload if isinstance(payload, str) else json.dumps(payload))
    raw_bytes = raw if isinstance(raw, bytes) else raw.encode()
    event["headers"].pop("x-hub-signature-256")
    if signature is not None:
        event["headers"]["x-hub-signature-256"] = signature
    elif secret is not None:
        event["headers"]["x-hub-signature-256"] = signature_for(raw_bytes, secret)
    try:
        text = None if base64_encoded else raw_bytes.decode()
    except UnicodeDecodeError:
        text = None  # API Gateway base64-encodes what is not text
    event["isBase64Encoded"] = text is None
    event["body"] = base64.b64encode(raw_bytes).decode() if text is None else text
    return invoke(event)


def verify(query: dict[str, str]) -> Answer:
    event = load_event("whatsapp-webhook-verify.json")
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    return invoke(event)


# ---------------------------------------------------------------------------------------------------------------
# One message of each documented type, as the examples of Meta's per-type webhook reference pages show it (the
# type's object under the type's name; `contacts` is a list). Keyed by Meta's `type`.
# ---------------------------------------------------------------------------------------------------------------
DOCUMENTED_MESSAGES: dict[str, Any] = {
    "text": {"body": "Does it come in another color?"},
    "image": {"caption": "This is the one", "mime_type": "image/jpeg", "sha256": "3a1f", "id": "1003383421387256"},
    "sticker": {"mime_type": "image/webp", "sha256": "8b2c", "id": "1003383421387257", "animated": False},
    "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "9c3d", "id": "1003383421387258", "voice": True},
    "video": {"caption": "Unboxing", "mime_type": "video/mp4", "sha256": "7e4f", "id": "1003383421387259"},
    "document": {
        "caption": "Invoice",
        "filename": "invoice-42.pdf",
        "mime_type": "application/pdf",
        "sha256": "6d5e",
        "id": "1003383421387260",
    },
    "location": {
        "address": "1 Hacker Way, Menlo Park, CA 94025",
        "latitude": 37.483253479003906,
        "longitude": -122.14960479736328,
        "name": "Philz Coffee",
        "url": "https://philzcoffee.com",
    },
    "contacts": [
        {
            "name": {"first_name": "Barbara", "last_name": "Johnson", "formatted_name": "Barbara J. Johnson"},
            "org": {"company": "Lucky Shrub", "department": "Legal"},
            "phones": [{"phone": "+1 (415) 555-0123", "wa_id": "14155550123", "type": "WORK"}],
            "emails": [{"email": "bjohnson@luckyshrub.com", "type": "WORK"}],
        }
    ],
    "order": {
        "catalog_id": "194836987003835",
        "text": "Gift wrap, please",
        "product_items": [
            {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"},
            {"product_retailer_id": "nqryix03ez", "quantity": 1, "item_price": 25.5, "currency": "USD"},
        ],
    },
    "button": {"payload": "Unsubscribe from Promos", "text": "Unsubscribe from Promos"},
    "interactive": {"type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}},
    "system": {
        "body": "User Sheena Nelson changed from +1 650-555-1234 to +1 219-555-5358",
        "wa_id": "12195555358",
        "type": "user_changed_number",
    },
    "request_welcome": None,
    "unsupported": {"type": "poll_creation"},
}
# What `unsupported` carries beside its object: Meta's error, as the reference shows it.
UNSUPPORTED_ERRORS = [
    {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
]
# The ad a customer came from (Meta's `referral`, on the message sent from a Click to WhatsApp ad).
EXAMPLE_REFERRAL = {
    "source_url": "https://fb.me/3cr4Wqqkv",
    "source_id": "120226305854810726",
    "source_type": "ad",
    "body": "Chat with us",
    "headline": "Chat with us",
    "media_type": "image",
    "image_url": "https://scontent.xx.fbcdn.net/v/t45.1600-4/518773704_n.png",
    "ctwa_clid": "Afd8AskFIrt8QVmd1l8txfclsRQm1rJhGvM04Uq6pmWEwBmWtwlRlxnuHvxSG0K8a0VeuLqR6lHGEZAvomCd7Q",
}


def documented_message(message_id: str, message_type: str, **extra: Any) -> dict[str, Any]:
    """One message of a documented type (DOCUMENTED_MESSAGES), from the default sender."""
    if message_type == "unsupported":
        extra.setdefault("errors", UNSUPPORTED_ERRORS)
    return inbound(message_id, message_type, DOCUMENTED_MESSAGES[message_type], **extra)
