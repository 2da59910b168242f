"""Meta's WhatsApp notifications (its webhook): what a verified notification does.

A body over Lambda's 6 MB request payload limit is refused first (413), unread. A notification is trusted only
once its signature matches (401 otherwise); nothing is written in either case. A verified notification is always
answered 200 (anything else only makes Meta re-send it for days, then give up on it): it is grouped by business
phone number, each number's connection names the tenant, and that tenant's inbound messages and statuses are written
in one transaction. What cannot be placed (a shape Threadline does not model, a message without a sender it can
resolve, a number without an active connection, ...) is kept raw as a dead letter with the reason (migration 0031),
counted in the WhatsAppDeadLetters metric, and can be replayed through these same steps once a fix lands
(`threadline whatsapp replay ID`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.channels.whatsapp.inbound import (
    PLATFORM,
    WINDOW_CLOSED_ERROR_CODE,
    NumberDelivery,
    Unplaced,
    authenticate_notification,
    read_whatsapp_notification,
)
from threadline.channels.whatsapp.inbound import (
    verify_subscription as verify_subscription,  # the handshake is all Meta's: the function calls it through here
)
from threadline.db.errors import RowsRefused
from threadline.db.repositories.lifecycle import (
    InboundFollowUp,
    Reopened,
    conversations_created_now,
    find_inbound_follow_up,
)
from threadline.db.repositories.media import CHANNEL_MEDIA_KEY, record_channel_media
from threadline.db.repositories.reactions import apply_customer_reactions
from threadline.db.repositories.revisions import apply_edits, apply_revocations
from threadline.db.repositories.whatsapp_dead_letters import NewDeadLetter, record_dead_letters
from threadline.db.repositories.whatsapp_inbound import (
    AppliedStatuses,
    StoredInbound,
    WhatsAppConnection,
    apply_status_updates,
    find_whatsapp_connections,
    rekey_contacts,
    store_inbound_messages,
)
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.outbox import hand_over_deliveries
from threadline.domain.intake.inbound import after_inbound_committed, reopen_for_inbound_messages
from threadline.domain.media.handover import hand_over_media
from threadline.domain.templates.notifications import apply_template_notifications
from threadline.errors import PayloadTooLarge
from threadline.models.whatsapp_notifications import MAX_NOTIFICATION_BYTES, NOTIFICATION_TOO_LARGE_MESSAGE
from threadline.observability import logger, metrics
from threadline.realtime.publisher import publish_reactions, publish_stored_messages

UNKNOWN_REACTION_TARGET = "a reaction to a message Threadline does not know"
UNKNOWN_EDIT_TARGET = "an edit of a message Threadline does not know (or not the customer's)"
UNKNOWN_REVOKE_TARGET = "a revocation of a message Threadline does not know (or not the customer's)"


@dataclass(frozen=True)
class WebhookReceipt:
    messages_added: int = 0
    statuses_applied: int = 0
    windows_closed: int = 0
    templates_updated: int = 0
    # Phone number ids with no (active) connection: acknowledged, kept as dead letters.
    ignored_numbers: tuple[str, ...] = ()
    # Why each thing Threadline could not place was not placed (kept as dead letters unless replaying).
    unplaced: tuple[str, ...] = ()


@dataclass(frozen=True)
class _InboxChanges:
    """What the delivery's new messages did to the inbox: conversations opened, and resolved or snoozed ones
    re-opened; and what the steps after the commit will need (None: nothing was written, nothing follows)."""

    created: list[int] = field(default_factory=list)
    reopened: list[Reopened] = field(default_factory=list)
    follow_up: InboundFollowUp | None = None
    # Messages whose media the copy step owes (pending rows written in this transaction).
    media_message_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Written:
    """What one number's part of a notification wrote, and what it could not place."""

    stored: StoredInbound
    applied: AppliedStatuses
    inbox: _InboxChanges
    # Messages whose reactions changed; messages edited or revoked; and the wamids (reactions, edits, revocations)
    # naming a message Threadline does not know.
    reacted: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    unplaced: dict[str, str] = field(default_factory=dict)


def _store_delivery(connection: WhatsAppConnection, delivery: NumberDelivery) -> _Written:
    inbound = delivery.inbound_batch()
    # Only a delivery with media pays the statement that records them.
    carries_media = any(CHANNEL_MEDIA_KEY in payload for payload in inbound.message_payloads)

    def store(conn: psycopg.Connection[Any]) -> _Written:
        stored = StoredInbound(messages_added=0, conversations_touched=0)
        applied = AppliedStatuses(messages_advanced=0, windows_closed=0)
        inbox = _InboxChanges()
        reacted: list[int] = []
        changed: list[int] = []
        unplaced: dict[str, str] = {}
        if delivery.user_id_changes:
            # Before the messages: they (the notice itself included) find the contact by its new BSUID.
            rekey_contacts(conn, tenant_id=connection.tenant_id, changes=delivery.user_id_changes)
        if inbound.message_meta_ids:
            stored = store_inbound_messages(
                conn, tenant_id=connection.tenant_id, connection_uuid=connection.id, platform=PLATFORM, batch=inbound
            )
            if stored.message_ids:
                inbox = _InboxChanges(
                    created=conversations_created_now(conn, stored.message_ids),
                    reopened=reopen_for_inbound_messages(conn, connection.tenant_id, stored.message_ids),
                    media_message_ids=record_channel_media(conn, connection.tenant_id, stored.message_ids)
                    if carries_media
                    else [],
                )
        if delivery.reactions.meta_ids:
            # After the messages: a reaction may name one stored just now. Reactions are not messages: no
            # conversation's last message or unread count moves.
            reactions = apply_customer_reactions(conn, tenant_id=connection.tenant_id, batch=delivery.reactions)
            reacted = reactions.message_ids
            unplaced |= {meta_id: UNKNOWN_REACTION_TARGET for meta_id in reactions.unplaced_meta_ids}
        if delivery.edits.meta_ids:
            edits = apply_edits(conn, tenant_id=connection.tenant_id, batch=delivery.edits)
            changed += edits.message_ids
            unplaced |= {meta_id: UNKNOWN_EDIT_TARGET for meta_id in edits.unplaced_meta_ids}
        if delivery.revocations.meta_ids:
            revocations = apply_revocations(conn, tenant_id=connection.tenant_id, batch=delivery.revocations)
            changed += revocations.message_ids
            unplaced |= {meta_id: UNKNOWN_REVOKE_TARGET for meta_id in revocations.unplaced_meta_ids}
        if delivery.statuses.meta_ids:
            applied = apply_status_updates(
                conn,
                tenant_id=connection.tenant_id,
                batch=delivery.statuses,
                window_closed_code=WINDOW_CLOSED_ERROR_CODE,
            )
        if stored.message_ids or applied.message_ids or reacted or changed:
            # One small read while the transaction is open: after the commit, a step nobody needs is skipped.
            inbox = replace(inbox, follow_up=find_inbound_follow_up(conn, connection.tenant_id))
        return _Written(stored, applied, inbox, reacted, sorted(set(changed)), unplaced)

    written = run_in_transaction(store, tenant_id=connection.tenant_id)
    # After the commit (a retried transaction must not note a problem twice).
    for meta_id, reason in written.unplaced.items():
        delivery.note_unplaced(meta_id, reason)
    return written


def receive_whatsapp_notification(*, body: bytes, signature: str | None) -> WebhookReceipt:
    if len(body) > MAX_NOTIFICATION_BYTES:
        # First, before the signature's HMAC and the JSON: nothing of such a body is read, signed or not.
        raise PayloadTooLarge(NOTIFICATION_TOO_LARGE_MESSAGE)
    authenticate_notification(body, signature)
    return _process(body, keep_unplaced=True)


def replay_notification(raw: bytes) -> WebhookReceipt:
    """A kept notification (a dead letter's raw) through the same steps as when it arrived, its signature having
    been checked then. Nothing new is kept: what still cannot be placed is in the receipt's `unplaced`."""
    return _process(raw, keep_unplaced=False)


def _process(body: bytes, *, keep_unplaced: bool) -> WebhookReceipt:
    notification = read_whatsapp_notification(body)
    # Template reviews, quality and category changes arrive on the same webhook, named by the account (WABA).
    templates_updated = apply_template_notifications(body)
    unplaced = list(notification.unplaced)
    deliveries = notification.deliveries
    found = run_in_transaction(lambda conn: find_whatsapp_connections(conn, sorted(deliveries))) if deliveries else []
    connections = {connection.phone_number_id: connection for connection in found}
    messages_added = statuses_applied = windows_closed = 0
    ignored: list[str] = []
    for number, delivery in sorted(deliveries.items()):
        connection = connections.get(number)
        if connection is None or not connection.is_active:
            logger.warning(
                "WhatsApp webhook for a number without an active connection; kept as a dead letter",
                extra={
                    "phone_number_id": number,
                    "known": connection is not None,
                    "messages": delivery.message_count,
                    "statuses": len(delivery.statuses.meta_ids),
                },
            )
            ignored.append(number)
            reason = (
                f"phone_number_id {number} has no WhatsApp connection"
                if connection is None
                else f"the WhatsApp connection of phone_number_id {number} is deactivated"
            )
            unplaced += [Unplaced(reason, number, change.raw) for change in delivery.changes]
            continue
        try:
            written = _store_delivery(connection, delivery)
        except RowsRefused as refusal:
            # The database refused the data itself: retrying would be refused again, so it is kept, not re-sent.
            logger.error(
                "WhatsApp notification refused by the database; kept as a dead letter",
                extra={"phone_number_id": number},
            )
            reason = f"the database refused it: {refusal.reason}"
            unplaced += [Unplaced(reason, number, change.raw) for change in delivery.changes]
            continue
        unplaced += [
            Unplaced("; ".join(change.problems), number, change.raw) for change in delivery.changes if change.problems
        ]
        # After the commit, and never failing the delivery: subscribers (when the tenant has any) hear of new
        # messages and moved statuses.
        stored, applied, inbox = written.stored, written.applied, written.inbox
        if inbox.follow_up is not None and inbox.follow_up.anyone_subscribed:
            # The publisher hands the write's webhook deliveries over too.
            publish_stored_messages(connection.tenant_id, "created", stored.message_ids)
            publish_stored_messages(connection.tenant_id, "status", applied.message_ids)
            publish_reactions(connection.tenant_id, written.reacted)
            publish_stored_messages(connection.tenant_id, "updated", written.changed)
        elif inbox.follow_up is None or inbox.follow_up.anyone_hooked:
            hand_over_deliveries(connection.tenant_id)
        if inbox.media_message_ids:
            hand_over_media(connection.tenant_id, inbox.media_message_ids)
        if inbox.created or inbox.reopened:
            after_inbound_committed(
                connection.tenant_id, created=inbox.created, reopened=inbox.reopened, follow_up=inbox.follow_up
            )
        messages_added += stored.messages_added
        statuses_applied += applied.messages_advanced
        windows_closed += applied.windows_closed
    if unplaced and keep_unplaced:
        _keep(unplaced)
    metrics.add_metric(name="WhatsAppMessagesReceived", unit=MetricUnit.Count, value=messages_added)
    metrics.add_metric(name="WhatsAppStatusesApplied", unit=MetricUnit.Count, value=statuses_applied)
    return WebhookReceipt(
        messages_added=messages_added,
        statuses_applied=statuses_applied,
        windows_closed=windows_closed,
        templates_updated=templates_updated,
        ignored_numbers=tuple(ignored),
        unplaced=tuple(item.reason for item in unplaced),
    )


def _keep(unplaced: list[Unplaced]) -> None:
    """The dead letters, in their own transaction: a failure here is a 500, and Meta sends the notification again
    (what was stored meanwhile is not stored twice)."""
    letters = [NewDeadLetter(item.phone_number_id, item.reason, item.raw) for item in unplaced]
    kept = run_in_transaction(lambda conn: record_dead_letters(conn, letters))
    # The reasons name fields and positions, never the customer's text: safe to log.
    logger.warning(
        "WhatsApp notification content kept as dead letters",
        extra={"dead_letters": len(letters), "new": kept, "reasons": [letter.reason[:300] for letter in letters]},
    )
    metrics.add_metric(name="WhatsAppDeadLetters", unit=MetricUnit.Count, value=len(letters))
