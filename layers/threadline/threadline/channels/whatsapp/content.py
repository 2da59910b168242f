"""What a message Meta hands over becomes in Threadline: its type, the text an agent reads, and its data in a typed
form (threadline.models.message_details), following the per-type pages of Meta's messages webhook reference.

Every type Meta documents reads as what it is ("Order: 2 x SKU-1 — total 25.98 USD", the button the customer
tapped, the place they shared); only a type Meta has not documented reads "Unsupported message (<type>)", its raw
object kept in `payload` like every other. Reactions, edits and revocations are not messages of their own: they
change the message they name (threadline.channels.whatsapp.inbound).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from threadline.meta.webhook import InboundMessage
from threadline.models.message_details import (
    ButtonReply,
    ContactCard,
    ContactEmail,
    ContactPhone,
    InteractiveReply,
    Location,
    MessageDetails,
    Order,
    OrderItem,
    OrderTotal,
    PlatformError,
    Referral,
    RequestWelcome,
    SharedContacts,
    Sticker,
    SystemNotice,
    Unsupported,
)

# Meta's message types -> Threadline's stored `type` (the views' `type`). The others are `text`: what they are is
# in `details.kind`.
_THREADLINE_TYPES = {
    "text": "text",
    "image": "image",
    "sticker": "image",
    "audio": "audio",
    "video": "video",
    "document": "file",
    "location": "location",
}
_MEDIA_TYPES = frozenset({"image", "sticker", "audio", "video", "document"})
# Notices from WhatsApp rather than the customer writing: shown, but they open no reply window. (`request_welcome`,
# the customer opening the chat, is theirs: it is how a business gets to send its welcome message.)
_SYSTEM_TYPES = frozenset({"system"})
UNAVAILABLE_TITLE = "This message is not available through WhatsApp's API"


@dataclass(frozen=True)
class InboundContent:
    type: str
    content: str
    media_mime_type: str | None
    media_filename: str | None
    payload: dict[str, Any]
    is_system: bool
    details: MessageDetails | None = None
    referral: Referral | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False


def text_of(value: Any) -> str | None:
    """A non-blank string Meta sent, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def object_of(value: Any) -> dict[str, Any]:
    """An object Meta sent, else an empty one."""
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------------------------
# Each documented kind: its typed data, and what it reads as
# ---------------------------------------------------------------------------------------------------------------
def _location(body: dict[str, Any]) -> tuple[Location, str]:
    location = Location(
        latitude=_number(body.get("latitude")),
        longitude=_number(body.get("longitude")),
        name=text_of(body.get("name")),
        address=text_of(body.get("address")),
        url=text_of(body.get("url")),
    )
    place = ", ".join(part for part in (location.name, location.address) if part)
    coordinates = f"{body.get('latitude')}, {body.get('longitude')}"
    return location, f"Location: {place or coordinates}"


def _contact_card(card: dict[str, Any]) -> ContactCard:
    name = object_of(card.get("name"))
    organization = object_of(card.get("org"))
    return ContactCard(
        name=text_of(name.get("formatted_name"))
        or " ".join(part for part in (text_of(name.get("first_name")), text_of(name.get("last_name"))) if part)
        or None,
        phones=[
            ContactPhone(
                phone=text_of(phone.get("phone")), wa_id=text_of(phone.get("wa_id")), type=text_of(phone.get("type"))
            )
            for phone in _objects(card.get("phones"))
        ],
        emails=[
            ContactEmail(email=text_of(email.get("email")), type=text_of(email.get("type")))
            for email in _objects(card.get("emails"))
        ],
        organization=text_of(organization.get("company")),
    )


def _contacts(cards: Any) -> tuple[SharedContacts, str]:
    # A `contacts` message carries a list (of vCards) under its type, not an object.
    shared = SharedContacts(contacts=[_contact_card(card) for card in _objects(cards)])
    names = [card.name for card in shared.contacts if card.name]
    return shared, f"Contact: {', '.join(names)}" if names else "Contact"


def _amount(value: float) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def _order(body: dict[str, Any]) -> tuple[Order, str]:
    items = [
        OrderItem(
            product_id=text_of(item.get("product_retailer_id")),
            quantity=_whole(item.get("quantity")),
            item_price=_number(item.get("item_price")),
            currency=text_of(item.get("currency")),
        )
        for item in _objects(body.get("product_items"))
    ]
    currencies = {item.currency for item in items}
    total = None
    if (
        items
        and len(currencies) == 1
        and all(item.quantity is not None and item.item_price is not None for item in items)
    ):
        try:
            amount = sum(Decimal(str(item.item_price)) * (item.quantity or 0) for item in items)
            total = OrderTotal(amount=float(amount), currency=str(next(iter(currencies))))
        except InvalidOperation:
            total = None
    order = Order(catalog_id=text_of(body.get("catalog_id")), note=text_of(body.get("text")), items=items, total=total)
    lines = ", ".join(f"{item.quantity or '?'} x {item.product_id or 'an item'}" for item in items) or "no items"
    text = f"Order: {lines}"
    if total is not None:
        text += f" — total {_amount(total.amount)} {total.currency}"
    if order.note:
        text += f" ({order.note})"
    return order, text


def _interactive(body: dict[str, Any]) -> tuple[InteractiveReply, str]:
    reply_type = text_of(body.get("type")) or next(
        (name for name in ("button_reply", "list_reply", "nfm_reply") if isinstance(body.get(name), dict)), "unknown"
    )
    reply = object_of(body.get(reply_type))
    response = None
    if reply_type == "nfm_reply":
        try:
            parsed = json.loads(reply.get("response_json") or "null")
        except (TypeError, ValueError):
            parsed = None
        response = parsed if isinstance(parsed, dict) else None
    details = InteractiveReply(
        reply_type=reply_type,
        id=text_of(reply.get("id")),
        title=text_of(reply.get("title")) or text_of(reply.get("name")),
        description=text_of(reply.get("description")),
        response=response,
    )
    if reply_type == "nfm_reply":
        return details, f"Form response: {text_of(reply.get('body')) or details.title or 'sent'}"
    return details, details.title or "Interactive reply"


def _system(body: dict[str, Any]) -> tuple[SystemNotice, str]:
    notice = SystemNotice(
        system_type=text_of(body.get("type")),
        body=text_of(body.get("body")),
        new_wa_id=text_of(body.get("wa_id")) or text_of(body.get("new_wa_id")),
        new_user_id=text_of(body.get("user_id")) or text_of(body.get("new_user_id")),
        previous_user_id=text_of(body.get("previous_user_id")),
    )
    return notice, notice.body or "WhatsApp notice"


def _unsupported(message: InboundMessage, body: dict[str, Any]) -> tuple[Unsupported, str]:
    error = message.errors[0] if message.errors else None
    platform_error = None
    if error is not None:
        details = error.details or (error.error_data.details if error.error_data else None)
        platform_error = PlatformError(code=error.code, title=error.title or error.message, details=details)
    unsupported = Unsupported(unsupported_type=text_of(body.get("type")), error=platform_error)
    title = unsupported.error.title if unsupported.error else None
    return unsupported, title or UNAVAILABLE_TITLE


def _described(message: InboundMessage) -> tuple[MessageDetails | None, str]:
    """The typed data of a message and what an agent reads for it."""
    body = message.type_object()
    match message.type:
        case "text":
            return None, text_of(body.get("body")) or ""
        case "image":
            return None, text_of(body.get("caption")) or "Photo"
        case "video":
            return None, text_of(body.get("caption")) or "Video"
        case "audio":
            return None, "Voice message" if body.get("voice") else "Audio"
        case "document":
            return None, text_of(body.get("caption")) or text_of(body.get("filename")) or "Document"
        case "sticker":
            sticker = Sticker(
                animated=body.get("animated") is True,
                media_id=text_of(body.get("id")),
                mime_type=text_of(body.get("mime_type")),
            )
            return sticker, "Animated sticker" if sticker.animated else "Sticker"
        case "location":
            return _location(body)
        case "contacts":
            return _contacts(message.extra_object("contacts"))
        case "order":
            return _order(body)
        case "button":
            button = ButtonReply(text=text_of(body.get("text")), payload=text_of(body.get("payload")))
            return button, button.text or button.payload or "Button"
        case "interactive":
            return _interactive(body)
        case "system":
            return _system(body)
        case "request_welcome":
            return RequestWelcome(), "The customer opened the chat"
        case "unsupported":
            return _unsupported(message, body)
        case _:
            return None, f"Unsupported message ({message.type})"


def _referral(message: InboundMessage) -> Referral | None:
    raw = message.extra_object("referral")
    if not isinstance(raw, dict):
        return None
    return Referral(**{name: text_of(raw.get(name)) for name in Referral.model_fields})


def inbound_content(message: InboundMessage) -> InboundContent:
    details, content = _described(message)
    body = message.type_object()
    raw = message.extra_object(message.type)
    # Meta hands out a media id, not a URL (the file is fetched later with the access token): keep the id.
    payload: dict[str, Any] = {"type": message.type, message.type: raw} if raw is not None else {"type": message.type}
    if message.type in _MEDIA_TYPES and text_of(body.get("id")):
        payload["media_id"] = body["id"]
    referral = message.extra_object("referral")
    if referral is not None:
        payload["referral"] = referral  # the click-to-WhatsApp ad the customer came from, as Meta sent it
    context = message.context
    return InboundContent(
        type=_THREADLINE_TYPES.get(message.type, "text"),
        content=content,
        media_mime_type=text_of(body.get("mime_type")) if message.type in _MEDIA_TYPES else None,
        media_filename=text_of(body.get("filename")) if message.type == "document" else None,
        payload=payload,
        is_system=message.type in _SYSTEM_TYPES,
        details=details,
        referral=_referral(message),
        forwarded=bool(context and (context.forwarded or context.frequently_forwarded)),
        frequently_forwarded=bool(context and context.frequently_forwarded),
    )
