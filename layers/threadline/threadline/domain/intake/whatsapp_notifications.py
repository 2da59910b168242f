"""Meta's WhatsApp notifications (its webhook): what a verified notification does.

A body over Lambda's 6 MB request payload limit is refused first (413), unread. A notification is trusted only
once its signature matches (401 otherwise) and is refused whole when it is not Meta's shape (400): nothing is
written in any of these cases. A verified one is grouped by business phone number; each
number's connection names the tenant, and that tenant's inbound messages and statuses are written in one
transaction. A number Threadline does not know (or a deactivated connection) is logged and acknowledged:
answering anything but 200 would only make Meta re-send it for days.
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
    authenticate_notification,
    notifications_by_number,
)
from threadline.channels.whatsapp.inbound import (
    verify_subscription as verify_subscription,  # the handshake is all Meta's: the function calls it through here
)
from threadline.db.repositories.lifecycle import (
    InboundFollowUp,
    Reopened,
    conversations_created_now,
    find_inbound_follow_up,
)
from threadline.db.repositories.media import CHANNEL_MEDIA_KEY, record_channel_media
from threadline.db.repositories.whatsapp_inbound import (
    AppliedStatuses,
    StoredInbound,
    WhatsAppConnection,
    apply_status_updates,
    find_whatsapp_connections,
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
from threadline.realtime.publisher import publish_stored_messages


@dataclass(frozen=True)
class WebhookReceipt:
    messages_added: int = 0
    statuses_applied: int = 0
    windows_closed: int = 0
    templates_updated: int = 0
    # Phone number ids with no (active) connection: acknowledged, nothing written.
    ignored_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _InboxChanges:
    """What the delivery's new messages did to the inbox: conversations opened, and resolved or snoozed ones
    re-opened; and what the steps after the commit will need (None: nothing was written, nothing follows)."""

    created: list[int] = field(default_factory=list)
    reopened: list[Reopened] = field(default_factory=list)
    follow_up: InboundFollowUp | None = None
    # Messages whose media the copy step owes (pending rows written in this transaction).
    media_message_ids: list[int] = field(default_factory=list)


def _store_delivery(
    connection: WhatsAppConnection, delivery: NumberDelivery
) -> tuple[StoredInbound, AppliedStatuses, _InboxChanges]:
    inbound = delivery.inbound_batch()
    # Only a delivery with media pays the statement that records them.
    carries_media = any(CHANNEL_MEDIA_KEY in payload for payload in inbound.message_payloads)

    def store(conn: psycopg.Connection[Any]) -> tuple[StoredInbound, AppliedStatuses, _InboxChanges]:
        stored = StoredInbound(messages_added=0, conversations_touched=0)
        applied = AppliedStatuses(messages_advanced=0, windows_closed=0)
        inbox = _InboxChanges()
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
        if delivery.statuses.meta_ids:
            applied = apply_status_updates(
                conn,
                tenant_id=connection.tenant_id,
                batch=delivery.statuses,
                window_closed_code=WINDOW_CLOSED_ERROR_CODE,
            )
        if stored.message_ids or applied.message_ids:
            # One small read while the transaction is open: after the commit, a step nobody needs is skipped.
            inbox = replace(inbox, follow_up=find_inbound_follow_up(conn, connection.tenant_id))
        return stored, applied, inbox

    return run_in_transaction(store, tenant_id=connection.tenant_id)


def receive_whatsapp_notification(*, body: bytes, signature: str | None) -> WebhookReceipt:
    if len(body) > MAX_NOTIFICATION_BYTES:
        # First, before the signature's HMAC and the JSON: nothing of such a body is read, signed or not.
        raise PayloadTooLarge(NOTIFICATION_TOO_LARGE_MESSAGE)
    authenticate_notification(body, signature)
    deliveries = notifications_by_number(body)
    # Template reviews, quality and category changes arrive on the same webhook, named by the account (WABA).
    templates_updated = apply_template_notifications(body)
    if not deliveries:
        return WebhookReceipt(templates_updated=templates_updated)
    found = run_in_transaction(lambda conn: find_whatsapp_connections(conn, sorted(deliveries)))
    connections = {connection.phone_number_id: connection for connection in found}
    messages_added = statuses_applied = windows_closed = 0
    ignored: list[str] = []
    for number, delivery in sorted(deliveries.items()):
        connection = connections.get(number)
        if connection is None or not connection.is_active:
            logger.warning(
                "WhatsApp webhook for a number without an active connection; acknowledged, nothing stored",
                extra={
                    "phone_number_id": number,
                    "known": connection is not None,
                    "messages": delivery.message_count,
                    "statuses": len(delivery.statuses.meta_ids),
                },
            )
            ignored.append(number)
            continue
        if delivery.group_messages_skipped:
            logger.info("group messages skipped", extra={"count": delivery.group_messages_skipped})
        stored, applied, inbox = _store_delivery(connection, delivery)
        # After the commit, and never failing the delivery: subscribers (when the tenant has any) hear of new
        # messages and moved statuses.
        if inbox.follow_up is not None and inbox.follow_up.anyone_subscribed:
            # The publisher hands the write's webhook deliveries over too.
            publish_stored_messages(connection.tenant_id, "created", stored.message_ids)
            publish_stored_messages(connection.tenant_id, "status", applied.message_ids)
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
    metrics.add_metric(name="WhatsAppMessagesReceived", unit=MetricUnit.Count, value=messages_added)
    metrics.add_metric(name="WhatsAppStatusesApplied", unit=MetricUnit.Count, value=statuses_applied)
    return WebhookReceipt(
        messages_added=messages_added,
        statuses_applied=statuses_applied,
        windows_closed=windows_closed,
        templates_updated=templates_updated,
        ignored_numbers=tuple(ignored),
    )
