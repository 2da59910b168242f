"""Meta's WhatsApp notifications, in Threadline's terms: the subscription handshake, the signature check, and the
translation of a notification's messages and statuses into the repository's batches, grouped by business number.

Everything here is Meta's knowledge (its message types, its contacts and BSUIDs, its error codes); the use case
that stores what this produces is threadline.domain.intake.whatsapp_notifications, which names nothing of Meta.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from threadline.channels.whatsapp.content import InboundContent, inbound_content, object_of, text_of
from threadline.channels.whatsapp.keys import whatsapp_contact_key, whatsapp_conversation_key
from threadline.db.repositories.reactions import ReactionBatch
from threadline.db.repositories.revisions import EditBatch, RevokeBatch
from threadline.db.repositories.whatsapp_inbound import InboundBatch, StatusBatch, UserIdChange
from threadline.errors import Forbidden, ThreadlineError, Unauthorized
from threadline.identifiers import normalise_identifier
from threadline.meta.config import get_meta_settings
from threadline.meta.webhook import (
    InboundMessage,
    MessagesChange,
    MessageStatus,
    Unplaced,
    read_notification,
    signature_matches,
)
from threadline.models.whatsapp_notifications import MAX_CHALLENGE_CHARS, SUBSCRIBE_MODE
from threadline.vocabulary import PREVIEW_CHARS, TRACKED_STATUSES, Platform

PLATFORM: Platform = "whatsapp"

# Meta's error for a message sent outside the customer-service window ("Re-engagement message").
WINDOW_CLOSED_ERROR_CODE = 131047


def verify_subscription(*, mode: str | None, token: str | None, challenge: str | None) -> str:
    """Meta's GET when the webhook is configured: echo the challenge if the verify token is ours."""
    expected = get_meta_settings().verify_token()
    if (
        mode != SUBSCRIBE_MODE
        or not expected
        or token is None
        or not challenge
        or len(challenge) > MAX_CHALLENGE_CHARS
        # Constant-time: the response time must not reveal how much of a guessed token was right.
        or not hmac.compare_digest(expected.encode("utf-8"), token.encode("utf-8"))
    ):
        raise Forbidden("Verification failed")
    return challenge


# ---------------------------------------------------------------------------------------------------------------
# From Meta's payload to the repository's batches
# ---------------------------------------------------------------------------------------------------------------
def _reply_to(message: InboundMessage) -> str | None:
    return message.context.id if message.context else None


@dataclass
class _Sender:
    wa_id: str | None
    whatsapp_user_id: str | None
    parent_user_id: str | None
    name: str | None
    messages: list[tuple[InboundMessage, InboundContent]] = field(default_factory=list)


@dataclass
class NumberDelivery:
    """Everything one notification says about one business phone number, and the changes it came in (each kept
    with its raw notification and the problems found in it, for its dead letter)."""

    phone_number_id: str
    senders: dict[str, _Sender] = field(default_factory=dict)
    statuses: StatusBatch = field(default_factory=StatusBatch)
    seen_message_ids: set[str] = field(default_factory=set)
    changes: list[MessagesChange] = field(default_factory=list)
    # Each message's change (an index into `changes`) and its place in it: a problem found while storing it (the
    # message it reacts to is unknown) is that change's.
    message_places: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Customers whose BSUID changed (`user_changed_user_id` system messages), applied before the messages are stored.
    user_id_changes: list[UserIdChange] = field(default_factory=list)
    # Reactions, edits and revocations: applied to the message they name, after the messages (which may include it).
    reactions: ReactionBatch = field(default_factory=ReactionBatch)
    edits: EditBatch = field(default_factory=EditBatch)
    revocations: RevokeBatch = field(default_factory=RevokeBatch)

    @property
    def message_count(self) -> int:
        return len(self.seen_message_ids)

    def note_unplaced(self, meta_id: str, reason: str) -> None:
        change_index, position = self.message_places[meta_id]
        self.changes[change_index].problems.append(f"messages[{position}]: {reason}")

    def inbound_batch(self) -> InboundBatch:
        batch = InboundBatch()
        for key, sender in sorted(self.senders.items()):
            contact_key = whatsapp_contact_key(sender.wa_id, sender.whatsapp_user_id)
            participant = normalise_identifier(f"+{sender.wa_id}" if sender.wa_id else contact_key)
            newest, newest_content = max(sender.messages, key=lambda pair: pair[0].timestamp)
            batch.sender_keys.append(key)
            batch.sender_identifiers.append(participant.identifier)
            batch.sender_phone_digits.append(participant.phone_digits)
            batch.sender_whatsapp_user_ids.append(sender.whatsapp_user_id)
            batch.sender_whatsapp_parent_user_ids.append(sender.parent_user_id)
            batch.sender_names.append(sender.name)
            batch.sender_conversation_keys.append(whatsapp_conversation_key(self.phone_number_id, contact_key))
            # System notices (a changed number) are shown but are not the customer writing: no window.
            batch.sender_last_inbound_at.append(
                max((m.timestamp for m, c in sender.messages if not c.is_system), default=None)
            )
            batch.sender_last_message_at.append(newest.timestamp)
            batch.sender_last_message_preview.append(newest_content.content[:PREVIEW_CHARS])
            for message, content in sender.messages:
                batch.message_sender_keys.append(key)
                batch.message_meta_ids.append(message.id)
                batch.message_types.append(content.type)
                batch.message_contents.append(content.content)
                batch.message_media_mime_types.append(content.media_mime_type)
                batch.message_media_filenames.append(content.media_filename)
                batch.message_payloads.append(content.payload)
                batch.message_details.append(content.details.model_dump(mode="json") if content.details else None)
                batch.message_referrals.append(content.referral.model_dump(mode="json") if content.referral else None)
                batch.message_forwarded.append(content.forwarded)
                batch.message_frequently_forwarded.append(content.frequently_forwarded)
                batch.message_reply_to_external_ids.append(_reply_to(message))
                batch.message_sent_at.append(message.timestamp)
                batch.message_is_system.append(content.is_system)
        return batch


USER_CHANGED_USER_ID = "user_changed_user_id"


def user_id_change(message: InboundMessage) -> UserIdChange | None:
    """Meta's system message when a customer's BSUID changed: the previous BSUID is in the system object
    (`previous_user_id`, and `previous_parent_user_id`), the new one is the sender's (`from_user_id`; `user_id` or
    `new_user_id` in the system object are read too)."""
    system = message.type_object()
    if message.type != "system" or system.get("type") != USER_CHANGED_USER_ID:
        return None
    previous = text_of(system.get("previous_user_id"))
    new = message.from_user_id or text_of(system.get("user_id")) or text_of(system.get("new_user_id"))
    if not previous or not new or previous == new:
        return None
    parent = message.from_parent_user_id or text_of(system.get("parent_user_id"))
    return UserIdChange(previous_user_id=previous, user_id=new, parent_user_id=parent)


def _sender_of(message: InboundMessage, change: MessagesChange) -> _Sender | None:
    """Who wrote the message: its `from` (the phone number), else its `from_user_id` (the BSUID), else the one
    contact the change names (`user_id` / `wa_id`); None when none of these names anyone. The contact Meta lists
    for the sender fills in what the message leaves out (the BSUID beside a phone number, the name). A BSUID change
    notice (which names no contact) is the customer's under their new BSUID."""
    rekey = user_id_change(message)
    if rekey is not None and not message.from_ and not message.from_user_id:
        return _Sender(None, rekey.user_id, rekey.parent_user_id, None)
    by_wa_id = {contact.wa_id: contact for contact in change.contacts if contact.wa_id}
    by_user_id = {contact.user_id: contact for contact in change.contacts if contact.user_id}
    contact = (by_user_id.get(message.from_user_id) if message.from_user_id else None) or (
        by_wa_id.get(message.from_) if message.from_ else None
    )
    if contact is None and not message.from_ and not message.from_user_id and len(change.contacts) == 1:
        contact = change.contacts[0]
    wa_id = message.from_ or (contact.wa_id if contact else None)
    user_id = message.from_user_id or (contact.user_id if contact else None)
    if not wa_id and not user_id:
        return None
    parent_user_id = message.from_parent_user_id or (contact.parent_user_id if contact else None)
    profile = contact.profile if contact else None
    name = (profile.name or profile.username) if profile else None
    return _Sender(wa_id, user_id, parent_user_id, name)


def _add_messages(delivery: NumberDelivery, change: MessagesChange, change_index: int) -> None:
    for position, message in change.messages:
        if message.group_id:
            # Threadline's conversations are one-to-one: a group message belongs to no customer's conversation.
            change.problems.append(f"messages[{position}]: a group message (Threadline's conversations are 1:1)")
            continue
        sender = _sender_of(message, change)
        if sender is None:
            change.problems.append(
                f"messages[{position}]: no sender (no from, no from_user_id, and not exactly one contact)"
            )
            continue
        if message.id in delivery.seen_message_ids:
            continue
        delivery.seen_message_ids.add(message.id)
        delivery.message_places[message.id] = (change_index, position)
        if message.type in _CHANGES_OF_A_MESSAGE:
            _CHANGES_OF_A_MESSAGE[message.type](delivery, change, position, message)
            continue
        rekey = user_id_change(message)
        if rekey is not None:
            delivery.user_id_changes.append(rekey)
        # The BSUID is the stable key (it stays when the phone number is hidden); the wa_id serves until Meta sends one.
        sender_key = sender.whatsapp_user_id or sender.wa_id
        assert sender_key is not None  # _sender_of names someone
        known = delivery.senders.setdefault(sender_key, sender)
        known.wa_id = known.wa_id or sender.wa_id
        known.parent_user_id = known.parent_user_id or sender.parent_user_id
        known.name = known.name or sender.name
        known.messages.append((message, inbound_content(message)))


def _add_reaction(delivery: NumberDelivery, change: MessagesChange, position: int, message: InboundMessage) -> None:
    """Meta's reaction: the message it names (`reaction.message_id`) and the emoji, which Meta leaves out when the
    customer removed their reaction."""
    reaction = message.type_object()
    target = text_of(reaction.get("message_id"))
    if target is None:
        change.problems.append(f"messages[{position}]: a reaction that names no message_id")
        return
    delivery.reactions.target_external_ids.append(target)
    delivery.reactions.emojis.append(text_of(reaction.get("emoji")))
    delivery.reactions.reacted_at.append(message.timestamp)
    delivery.reactions.meta_ids.append(message.id)


def _add_edit(delivery: NumberDelivery, change: MessagesChange, position: int, message: InboundMessage) -> None:
    """Meta's `edit`: the original's wamid and the edited message, whose text (or a media's caption) replaces the
    original's content."""
    edit = message.type_object()
    original = text_of(edit.get("original_message_id"))
    edited = object_of(edit.get("message"))
    body = object_of(edited.get(edited["type"])) if isinstance(edited.get("type"), str) else {}
    content = text_of(body.get("body")) or text_of(body.get("caption"))
    if original is None or content is None:
        change.problems.append(f"messages[{position}]: an edit without original_message_id or new text")
        return
    delivery.edits.original_external_ids.append(original)
    delivery.edits.contents.append(content)
    delivery.edits.edited_at.append(message.timestamp)
    delivery.edits.meta_ids.append(message.id)


def _add_revocation(delivery: NumberDelivery, change: MessagesChange, position: int, message: InboundMessage) -> None:
    """Meta's `revoke`: the customer deleted the message whose wamid it names."""
    original = text_of(message.type_object().get("original_message_id"))
    if original is None:
        change.problems.append(f"messages[{position}]: a revocation without original_message_id")
        return
    delivery.revocations.original_external_ids.append(original)
    delivery.revocations.revoked_at.append(message.timestamp)
    delivery.revocations.meta_ids.append(message.id)


# Meta's messages that change another message rather than being one.
_CHANGES_OF_A_MESSAGE = {"reaction": _add_reaction, "edit": _add_edit, "revoke": _add_revocation}


def _add_statuses(delivery: NumberDelivery, change: MessagesChange) -> None:
    for status in change.statuses:
        if status.status not in TRACKED_STATUSES:
            continue
        error = status.errors[0] if status.status == "failed" and status.errors else None
        delivery.statuses.meta_ids.append(status.id)
        delivery.statuses.callback_ids.append(status.biz_opaque_callback_data)
        delivery.statuses.statuses.append(status.status)
        delivery.statuses.status_at.append(status.timestamp)
        delivery.statuses.error_codes.append(error.code if error else None)
        delivery.statuses.error_titles.append((error.title or error.message) if error else None)
        delivery.statuses.error_details.append(error.error_data.details if error and error.error_data else None)
        delivery.statuses.recipient_user_ids.append(status.recipient_user_id)
        delivery.statuses.recipient_parent_user_ids.append(status.recipient_parent_user_id)
        delivery.statuses.pricings.append(_pricing(status))
        delivery.statuses.billing_conversations.append(_billing_conversation(status))


def _pricing(status: MessageStatus) -> dict[str, Any] | None:
    """Meta's pricing object as Threadline keeps it: the four fields it names, absent ones left out."""
    pricing = status.pricing.model_dump(exclude_none=True) if status.pricing else {}
    return pricing or None


def _billing_conversation(status: MessageStatus) -> dict[str, Any] | None:
    conversation = status.conversation
    if conversation is None:
        return None
    kept = {
        "id": conversation.id,
        "origin_type": conversation.origin.type if conversation.origin else None,
        "expires_at": conversation.expiration_timestamp.isoformat() if conversation.expiration_timestamp else None,
    }
    kept = {name: value for name, value in kept.items() if value is not None}
    return kept or None


@dataclass(frozen=True)
class Notification:
    """A verified notification in Threadline's terms: what it says per business number, and what it holds that
    names no number Threadline could read (kept as dead letters)."""

    deliveries: dict[str, NumberDelivery]
    unplaced: list[Unplaced]


def deliveries_by_number(changes: Iterable[MessagesChange]) -> dict[str, NumberDelivery]:
    deliveries: dict[str, NumberDelivery] = {}
    for change in changes:
        number = change.phone_number_id
        delivery = deliveries.setdefault(number, NumberDelivery(number))
        delivery.changes.append(change)
        _add_messages(delivery, change, len(delivery.changes) - 1)
        _add_statuses(delivery, change)
    return deliveries


def read_whatsapp_notification(body: bytes) -> Notification:
    """A verified notification's messages and statuses by business phone number, and what could not be placed."""
    reading = read_notification(body)
    return Notification(deliveries_by_number(reading.changes), reading.unplaced)


def authenticate_notification(body: bytes, signature: str | None) -> None:
    if not signature:
        raise Unauthorized("Missing X-Hub-Signature-256 header")
    app_secret = get_meta_settings().app_secret()
    if not app_secret:
        # Without the secret nothing can be verified: a 500 makes Meta retry once the secret is in place.
        raise ThreadlineError("Internal server error", details="Meta app secret is not configured")
    if not signature_matches(body, signature, app_secret):
        raise Unauthorized("Invalid signature")
