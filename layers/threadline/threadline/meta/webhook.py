"""Meta's webhook notifications: the signature check and the payload models.

Meta signs every POST with `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw request body keyed with
the app secret; the check runs on the exact bytes received, before anything is parsed.

The models follow Meta's `messages` webhook reference (incoming messages, statuses, and the business-scoped user
ids `user_id` / `from_user_id` that stand in for the phone number of users who adopted a username). They ignore
the fields they do not name, so a field Meta adds tomorrow never turns a delivery into an error; only the few
fields Threadline cannot do without are required. A verified notification is never refused: `read_notification`
reads each change, and each message and status in it, on its own, and hands back what it could not read (with the
reason and a notification holding just it) instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
)

from threadline.errors import InvalidRequest
from threadline.models.validation import describe_validation_error, json_object

SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="
WHATSAPP_OBJECT = "whatsapp_business_account"
MESSAGES_FIELD = "messages"
# The template webhooks arrive on the same endpoint (threadline.meta.template_webhooks reads them).
STATUS_FIELD = "message_template_status_update"
QUALITY_FIELD = "message_template_quality_update"
CATEGORY_FIELD = "template_category_update"
TEMPLATE_FIELDS = frozenset({STATUS_FIELD, QUALITY_FIELD, CATEGORY_FIELD})
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
    """Who wrote: `wa_id` (phone digits) unless the user hides it behind a username; `user_id` (BSUID) always once
    Meta sends BSUIDs; `parent_user_id` when the business has parent BSUIDs enabled."""

    wa_id: MetaId | None = None
    user_id: MetaId | None = None
    parent_user_id: MetaId | None = None
    profile: ContactProfile | None = None


class MessageContext(_Tolerant):
    """The message this one replies to (`id`, the quoted message's wamid), and whether it was forwarded."""

    id: MetaId | None = None
    from_: str | None = Field(default=None, alias="from")
    forwarded: bool = False
    frequently_forwarded: bool = False


class StatusErrorData(_Tolerant):
    details: str | None = None


class MessageError(_Tolerant):
    """Meta's reason attached to a message it could not hand over (type `unsupported`), or to a failed status."""

    code: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    error_data: StatusErrorData | None = None


class InboundMessage(_Tolerant):
    # Type-specific objects (`text`, `image`, `location`, ...) stay as Meta sent them, under their type's name.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    id: MetaId
    # Who wrote it: the phone number (`from`) unless hidden behind a username, the BSUID (`from_user_id`). Either may
    # be missing; the channel resolves the sender (threadline.channels.whatsapp.inbound).
    from_: MetaId | None = Field(default=None, alias="from")
    from_user_id: MetaId | None = None
    from_parent_user_id: MetaId | None = None
    timestamp: UnixTimestamp
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    context: MessageContext | None = None
    group_id: str | None = None
    errors: list[MessageError] = Field(default_factory=list)

    def type_object(self) -> dict[str, Any]:
        """The object named by `type`, e.g. `{"body": "..."}` for text or `{"id", "mime_type", ...}` for an image."""
        value = (self.model_extra or {}).get(self.type)
        return value if isinstance(value, dict) else {}

    def extra_object(self, name: str) -> Any:
        """A field Threadline does not model by name (`contacts`, `referral`, ...), as Meta sent it."""
        return (self.model_extra or {}).get(name)


StatusError = MessageError


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
    # The recipient: its phone number unless the message went to a BSUID (Meta then leaves it out), its BSUID, and
    # its parent BSUID (Meta's reference spells it both ways).
    recipient_id: str | None = None
    recipient_user_id: MetaId | None = None
    recipient_parent_user_id: MetaId | None = Field(
        default=None, validation_alias=AliasChoices("recipient_parent_user_id", "parent_recipient_user_id")
    )
    # What the send path passed as biz_opaque_callback_data: its own id for the message.
    biz_opaque_callback_data: MetaId | None = None
    errors: list[MessageError] = Field(default_factory=list)
    pricing: StatusPricing | None = None
    conversation: StatusConversation | None = None


class Metadata(_Tolerant):
    phone_number_id: MetaId
    display_phone_number: str | None = None


class _MessagesValue(_Tolerant):
    """One `messages` change, its items left unread: each item is read on its own, so one Threadline cannot read
    never costs the others."""

    metadata: Metadata
    contacts: list[Any] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    statuses: list[Any] = Field(default_factory=list)


class MessagesValue(_Tolerant):
    """One `messages` change as Threadline reads it (the OpenAPI document's description of Meta's notification)."""

    metadata: Metadata
    contacts: list[WebhookContact] = Field(default_factory=list)
    messages: list[InboundMessage] = Field(default_factory=list)
    statuses: list[MessageStatus] = Field(default_factory=list)


class Change(_Tolerant):
    field: str
    value: MessagesValue | dict[str, Any] | None = None


class Entry(_Tolerant):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class WhatsAppNotification(_Tolerant):
    """Meta's webhook notification (`object`, `entry[].changes[]`), described for the OpenAPI document. It is read
    by `read_notification`, item by item: what does not fit is kept as a dead letter, never refused."""

    object: str
    entry: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class Unplaced:
    """Something of a verified notification Threadline could not place: why, the business number it names (when
    it names one), and a notification holding just it, as received (what a replay runs again)."""

    reason: str
    phone_number_id: str | None
    raw: bytes


@dataclass
class MessagesChange:
    """One `messages` change: everything Meta reports for one business phone number in one change. `problems` are
    the items it could not read (each `messages[1].timestamp: ...`); `raw` is the change alone as a notification."""

    phone_number_id: str
    raw: bytes
    contacts: list[WebhookContact] = field(default_factory=list)
    # With each message, its position in the change (for the reasons that name it).
    messages: list[tuple[int, InboundMessage]] = field(default_factory=list)
    statuses: list[MessageStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    changes: list[MessagesChange]
    unplaced: list[Unplaced]


def _notification(subscribed_object: Any, entry_id: Any, changes: list[Any]) -> bytes:
    document = {"object": subscribed_object, "entry": [{"id": entry_id, "changes": changes}]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _phone_number_id(value: Any) -> str | None:
    """The business number a change names, read as leniently as possible (a dead letter's tenant)."""
    metadata = value.get("metadata") if isinstance(value, dict) else None
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    return number.strip() if isinstance(number, str) and number.strip() else None


_ItemT = TypeVar("_ItemT", bound=BaseModel)


def _read_items(model: type[_ItemT], items: list[Any], name: str, problems: list[str]) -> list[tuple[int, _ItemT]]:
    read = []
    for index, item in enumerate(items):
        try:
            read.append((index, model.model_validate(item)))
        except ValidationError as error:
            problems.append(describe_validation_error(error, at=[name, index]))
    return read


def _read_change(value: _MessagesValue, raw: bytes) -> MessagesChange:
    change = MessagesChange(phone_number_id=value.metadata.phone_number_id, raw=raw)
    change.contacts = [
        contact for _, contact in _read_items(WebhookContact, value.contacts, "contacts", change.problems)
    ]
    change.messages = _read_items(InboundMessage, value.messages, "messages", change.problems)
    change.statuses = [status for _, status in _read_items(MessageStatus, value.statuses, "statuses", change.problems)]
    return change


def read_notification(body: bytes) -> Reading:
    """A verified notification, read as far as it can be: its `messages` changes (each with the items that could
    not be read), and everything else as Unplaced. Never raises for what Meta sent: a verified notification is
    always acknowledged, and what Threadline cannot place is kept (threadline.domain.intake.whatsapp_notifications).
    """
    try:
        # Meta's text is repaired, never refused: a truncated emoji (a lone surrogate) becomes U+FFFD, a NUL is
        # dropped.
        document = json_object(body, repair_text=True)
    except InvalidRequest as error:
        return Reading([], [Unplaced(error.message, None, body)])
    subscribed_object = document.get("object")
    if not isinstance(subscribed_object, str):
        return Reading([], [Unplaced("object: is required", None, body)])
    if subscribed_object != WHATSAPP_OBJECT:
        return Reading([], [Unplaced(f"object {subscribed_object!r} is not a WhatsApp notification", None, body)])
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        return Reading([], [Unplaced("entry: must be an array", None, body)])
    changes: list[MessagesChange] = []
    unplaced: list[Unplaced] = []
    for entry_index, entry in enumerate(entries):
        entry_changes = entry.get("changes", []) if isinstance(entry, dict) else None
        if not isinstance(entry_changes, list):
            reason = f"entry[{entry_index}]: must be an object with an array of changes"
            unplaced.append(Unplaced(reason, None, _notification(subscribed_object, None, [entry])))
            continue
        entry_id = entry.get("id")
        for change_index, change in enumerate(entry_changes):
            raw = _notification(subscribed_object, entry_id, [change])
            value = change.get("value") if isinstance(change, dict) else None
            subscribed_field = change.get("field") if isinstance(change, dict) else None
            if subscribed_field in TEMPLATE_FIELDS:
                continue  # a template's review, quality or category: threadline.meta.template_webhooks reads those
            if subscribed_field != MESSAGES_FIELD:
                reason = (
                    f"field {subscribed_field!r} is not one Threadline handles"
                    if isinstance(subscribed_field, str)
                    else f"entry[{entry_index}].changes[{change_index}].field: is required"
                )
                unplaced.append(Unplaced(reason, _phone_number_id(value), raw))
                continue
            try:
                read = _MessagesValue.model_validate(value)
            except ValidationError as error:
                reason = describe_validation_error(error, at=["value"])
                unplaced.append(Unplaced(reason, _phone_number_id(value), raw))
                continue
            changes.append(_read_change(read, raw))
    return Reading(changes, unplaced)
