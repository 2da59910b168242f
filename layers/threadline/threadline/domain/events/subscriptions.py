"""Webhook subscriptions: a tenant's integrations hear about the event types they chose, signed, at least once.

The subscription is a delivery target (`WebhookTarget`, in threadline.domain.events.targets' map): its deliveries are written by the event log's
fan-out trigger (migration 0016) in the transaction of each change. This module owns the API's rules (the URL is
checked as each attempt checks it, the secret is shown once and stored sealed, a rotation keeps the old secret
signing for ROTATION_OVERLAP) and the target's behaviour: its endpoint, and a 410 disabling it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from threadline.caller import Caller
from threadline.db.repositories.deliveries import (
    DeliveryRow,
    end_target_deliveries,
    list_subscription_deliveries,
    schedule_redelivery,
)
from threadline.db.repositories.webhook_subscriptions import (
    SubscriptionRow,
    delete_subscription,
    disable_subscription,
    find_subscription,
    insert_subscription,
    list_subscriptions,
    rotate_subscription_secret,
)
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.addresses import AddressRefused, check_url
from threadline.delivery.outbox import RETRY_FOR, hand_over_deliveries
from threadline.delivery.secret_box import decrypt_secret, encrypt_secret, generate_signing_secret
from threadline.delivery.signing import ROTATION_OVERLAP
from threadline.delivery.targets import Endpoint
from threadline.delivery.transport import Answer
from threadline.errors import InvalidRequest, NotFound
from threadline.models.webhook_subscriptions import (
    DELIVERIES_PAGE,
    DELIVERY_NOT_FOUND,
    WEBHOOK_NOT_FOUND,
    Delivery,
    DeliveryList,
    SecretRotated,
    Webhook,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDeleted,
    WebhookList,
)

GONE_REASON = "The receiver answered 410 Gone"


def _sealed_for(subscription_id: UUID) -> str:
    # The associated data of the subscription's ciphertexts: they decrypt only as this row's.
    return f"webhook_subscription:{subscription_id}"


def _webhook(row: SubscriptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": row.event_types,
        "description": row.description,
        "is_active": row.is_active,
        "disabled_reason": row.disabled_reason,
        "previous_secret_expires_at": row.previous_secret_expires_at,
        "created_at": row.created_at,
    }


def create_webhook(caller: Caller, request: WebhookCreateRequest) -> WebhookCreated:
    try:
        check_url(request.url)
    except AddressRefused as refused:
        raise InvalidRequest(str(refused)) from None
    subscription_id = uuid.uuid4()
    secret = generate_signing_secret()
    sealed = encrypt_secret(secret, bound_to=_sealed_for(subscription_id))
    row = run_in_transaction(
        lambda conn: insert_subscription(
            conn,
            subscription_id=subscription_id,
            tenant_id=caller.tenant_id,
            url=request.url,
            event_types=request.events,
            description=request.description,
            secret_ciphertext=sealed,
        ),
        tenant_id=caller.tenant_id,
    )
    return WebhookCreated(**_webhook(row), secret=secret)


def list_webhooks(caller: Caller) -> WebhookList:
    rows = run_in_transaction(lambda conn: list_subscriptions(conn, caller.tenant_id), tenant_id=caller.tenant_id)
    return WebhookList(webhooks=[Webhook(**_webhook(row)) for row in rows])


def remove_webhook(caller: Caller, subscription_id: UUID) -> WebhookDeleted:
    if not run_in_transaction(lambda conn: delete_subscription(conn, subscription_id), tenant_id=caller.tenant_id):
        raise NotFound(WEBHOOK_NOT_FOUND)
    return WebhookDeleted(id=subscription_id)


def rotate_webhook_secret(caller: Caller, subscription_id: UUID, *, now: datetime | None = None) -> SecretRotated:
    secret = generate_signing_secret()
    expires_at = (now or datetime.now(UTC)) + ROTATION_OVERLAP
    sealed = encrypt_secret(secret, bound_to=_sealed_for(subscription_id))
    row = run_in_transaction(
        lambda conn: rotate_subscription_secret(
            conn, subscription_id, secret_ciphertext=sealed, previous_expires_at=expires_at
        ),
        tenant_id=caller.tenant_id,
    )
    if row is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return SecretRotated(id=row.id, secret=secret, previous_secret_expires_at=expires_at)


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        event=row.event_type,
        seq=row.event_seq,
        status=row.status,
        attempts=row.attempts,
        last_response_status=row.last_response_status,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def list_webhook_deliveries(caller: Caller, subscription_id: UUID) -> DeliveryList:
    def read(conn: psycopg.Connection[Any]) -> list[DeliveryRow] | None:
        if find_subscription(conn, subscription_id) is None:
            return None
        return list_subscription_deliveries(conn, caller.tenant_id, subscription_id, limit=DELIVERIES_PAGE)

    rows = run_in_transaction(read, tenant_id=caller.tenant_id)
    if rows is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return DeliveryList(deliveries=[_delivery(row) for row in rows])


def redeliver(caller: Caller, subscription_id: UUID, delivery_id: UUID, *, now: datetime | None = None) -> Delivery:
    """The delivery again, whatever became of it (dead, or delivered and lost by the receiver): pending, due now,
    with a fresh 24 hours of retries, under the same Threadline-Delivery id. The subscription must be active."""
    clock = now or datetime.now(UTC)

    def write(conn: psycopg.Connection[Any]) -> DeliveryRow | None:
        subscription = find_subscription(conn, subscription_id)
        if subscription is None:
            raise NotFound(WEBHOOK_NOT_FOUND)
        if not subscription.is_active:
            raise InvalidRequest("The webhook is disabled (its receiver answered 410): create a new one")
        return schedule_redelivery(conn, subscription_id, delivery_id, now=clock, give_up_at=clock + RETRY_FOR)

    row = run_in_transaction(write, tenant_id=caller.tenant_id)
    if row is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    hand_over_deliveries(caller.tenant_id)
    return _delivery(row)


class WebhookTarget:
    """Deliveries to a webhook subscription."""

    def load_endpoint(self, conn: psycopg.Connection[Any], target_id: UUID, now: datetime) -> Endpoint | None:
        row = find_subscription(conn, target_id)
        if row is None:
            return None
        bound = _sealed_for(row.id)
        secrets = [decrypt_secret(row.secret_ciphertext, bound_to=bound)]
        if row.previous_secret_ciphertext is not None and (row.previous_secret_expires_at or now) > now:
            secrets.append(decrypt_secret(row.previous_secret_ciphertext, bound_to=bound))
        return Endpoint(url=row.url, secrets=secrets, active=row.is_active)

    def on_delivered(self, conn: psycopg.Connection[Any], delivery: DeliveryRow, answer: Answer) -> None:
        return None  # a receiver's answer carries nothing for Threadline

    def on_gone(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> None:
        disable_subscription(conn, delivery.target_id, reason=GONE_REASON)
        end_target_deliveries(conn, subscription_id=delivery.target_id, reason=GONE_REASON)

    def on_dead(self, conn: psycopg.Connection[Any], delivery: DeliveryRow) -> None:
        return None  # a dead webhook delivery waits to be redelivered; nothing else depends on it
