"""Meta's webhook notifications: the signature check and the payload models.

Meta signs every POST with `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw request body keyed with
the app secret; the check runs on the exact bytes received, before anything is parsed.

The models follow Meta's `messages` webhook reference (incoming messages, statuses, and the business-scoped user
ids `user_id` / `from_user_id` that stand in for the phone number of users who adopted a username). They ignore
the fields they do not name, so a field Meta adds tomorrow never turns a delivery into an error; only the few
fields Threadline cannot do without are required.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    model_validator,
)

from threadline.errors import InvalidRequest
from threadline.models.validation import describe_validation_error, json_object

SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="
WHATSAPP_OBJECT = "whatsapp_business_account"
MESSAGES_FIELD = "messages"
# Ids travel into unique btree indexes; anything this long is not an id Meta minted.
MAX_ID_CHARS = 1_024


def raw_body_bytes(body: str | None, is_base64_encoded: bool) -> bytes:
    """The request body exactly as it was sent: API Gateway hands over either the text or its base64."""
    if not body:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("Request body is not valid base64") from None
    return body.encode("utf-8")


def signature_for(body: bytes, app_secret: str) -> str:
    """The header value Meta sends with `body`."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def signature_matches(body: bytes, signature_header: str, app_secret: str) -> bool:
    # Constant-time: how much of a forged signature matched must not show in the response time.
    expected = signature_for(body, app_secret).encode("ascii")
    return hmac.compare_digest(expected, signature_header.strip().lower().encode("utf-8"))


def _unix_seconds(value: Any) -> datetime:
    # Meta's timestamps are Unix seconds, as strings ("1749416383").
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a Unix timestamp in seconds")
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be a Unix timestamp in seconds")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("must be a Unix timestamp in seconds") from None


UnixTimestamp = Annotated[datetime, PlainValidator(_unix_seconds)]
MetaId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_CHARS)]


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ContactProfile(_Tolerant):
    name: str | None = None
    username: str | None = None


class WebhookContact(_Tolerant):
    """Who wrote: `wa_id` (phone digits) unless the user hides it behind a username; `user_id` (BSUID) always."""

    wa_id: MetaId | None = None
    user_id: MetaId | None = None
    profile: ContactProfile | None = None


class MessageContext(_Tolerant):
    """The message this one replies to (or reacts to, or was forwarded from)."""

    id: MetaId | None = None
    from_: str | None = Field(default=None, alias="from")


class InboundMessage(_Tolerant):
    # Type-specific objects (`text`, `image`, `location`, ...) stay as Meta sent them, under their type's name.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    id: MetaId
    from_: MetaId | None = Field(default=None, alias="from")
    from_user_id: MetaId | None = None
    timestamp: UnixTimestamp
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    context: MessageContext | None = None
    group_id: str | None = None

    @model_validator(mode="after")
    def _has_a_sender(self) -> InboundMessage:
        if not self.from_ and not self.from_user_id:
            raise ValueError("a message needs `from` or `from_user_id`")
        return self

    def type_object(self) -> dict[str, Any]:
        """The object named by `type`, e.g. `{"body": "..."}` for text or `{"id", "mime_type", ...}` for an image."""
        value = (self.model_extra or {}).get(self.type)
        return value if isinstance(value, dict) else {}


class StatusErrorData(_Tolerant):
    details: str | None = None


class StatusError(_Tolerant):
    code: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    title: str | None = None
    message: str | None = None
    error_data: StatusErrorData | None = None


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]


class StatusPricing(_Tolerant):
    """What Meta says a message costs: `category` (marketing, utility, authentication, authentication_international,
    marketing_lite, service, referral_conversion, ...), `type` (regular: charged; free_customer_service,
    free_entry_point), `pricing_model` (PMP per message since July 2025; CBP before), and `billable` (deprecated by
    Meta in favour of `type`; older payloads carry only it)."""

    category: ShortText | None = None
    type: ShortText | None = None
    pricing_model: ShortText | None = None
    billable: bool | None = None


class ConversationOrigin(_Tolerant):
    type: ShortText | None = None


class StatusConversation(_Tolerant):
    """Meta's billing conversation (conversation-based pricing; under per-message pricing only free entry points)."""

    id: ShortText | None = None
    origin: ConversationOrigin | None = None
    expiration_timestamp: UnixTimestamp | None = None


class MessageStatus(_Tolerant):
    id: MetaId
    status: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    timestamp: UnixTimestamp
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    # What the send path passed as biz_opaque_callback_data: its own id for the message.
    biz_opaque_callback_data: MetaId | None = None
    errors: list[StatusError] = Field(default_factory=list)
    pricing: StatusPricing | None = None
    conversation: StatusConversation | None = None


class Metadata(_Tolerant):
    phone_number_id: MetaId
    display_phone_number: str | None = None


class MessagesValue(_Tolerant):
    """One `messages` change: everything Meta reports for one business phone number."""

    metadata: Metadata
    contacts: list[WebhookContact] = Field(default_factory=list)
    messages: list[InboundMessage] = Field(default_factory=list)
    statuses: list[MessageStatus] = Field(default_factory=list)


class Change(_Tolerant):
    field: str
    value: MessagesValue | None = None

    @model_validator(mode="after")
    def _messages_carry_a_value(self) -> Change:
        if self.field == MESSAGES_FIELD and self.value is None:
            raise ValueError("a messages change needs a value")
        return self


class Entry(_Tolerant):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class WhatsAppNotification(_Tolerant):
    """Meta's webhook notification (`object`, `entry[].changes[]`); fields Threadline does not use are ignored,
    and changes other than `messages` are acknowledged without being read."""

    object: str
    entry: list[Entry] = Field(default_factory=list)


def _only_messages_changes(document: dict[str, Any]) -> dict[str, Any]:
    """Other subscribed fields (template reviews, account alerts, ...) are acknowledged and ignored: their values
    are dropped before validation, so a shape Threadline does not model can never refuse a delivery."""
    entries = document.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict) and change.get("field") != MESSAGES_FIELD:
                change["value"] = None
    return document


def parse_notification(body: bytes) -> list[MessagesValue]:
    """The `messages` changes of a verified notification, in the order Meta listed them. Raises InvalidRequest
    (400) for a body that is not JSON or not shaped like Meta's; a notification for another object is empty."""
    # Meta's text is repaired, never refused: a truncated emoji (a lone surrogate) becomes U+FFFD, a NUL is dropped,
    # because a refused delivery is re-sent until Meta gives up, and the customer's message is lost.
    document = json_object(body, repair_text=True)
    subscribed_object = document.get("object")
    if isinstance(subscribed_object, str) and subscribed_object != WHATSAPP_OBJECT:
        return []  # another product's webhook (a Page, Instagram): nothing for Threadline
    try:
        notification = WhatsAppNotification.model_validate(_only_messages_changes(document))
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error)) from None
    return [
        change.value
        for entry in notification.entry
        for change in entry.changes
        if change.field == MESSAGES_FIELD and change.value is not None
    ]
