"""Webhook subscriptions (migration 0016): a tenant's URLs, the event types each wants, and their sealed secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

_COLUMNS = (
    "id, tenant_id, url, event_types, description, secret_ciphertext, previous_secret_ciphertext, "
    "previous_secret_expires_at, is_active, disabled_reason, created_at"
)


@dataclass(frozen=True)
class SubscriptionRow:
    id: UUID
    tenant_id: UUID
    url: str
    event_types: list[str]
    description: str | None
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    previous_secret_expires_at: datetime | None
    is_active: bool
    disabled_reason: str | None
    created_at: datetime


def insert_subscription(
    conn: psycopg.Connection[Any],
    *,
    subscription_id: UUID,
    tenant_id: UUID,
    url: str,
    event_types: Sequence[str],
    description: str | None,
    secret_ciphertext: bytes,
) -> SubscriptionRow:
    with conn.cursor(row_factory=class_row(SubscriptionRow)) as cursor:
        row = cursor.execute(
            f"""
            INSERT INTO webhook_subscriptions (id, tenant_id, url, event_types, description, secret_ciphertext)
            VALUES (%s, %s, %s, %s, %s, %s)
            RETURNING {_COLUMNS}
            """,
            (subscription_id, tenant_id, url, list(event_types), description, secret_ciphertext),
        ).fetchone()
    assert row is not None
    return row


def list_subscriptions(conn: psycopg.Connection[Any], tenant_id: UUID) -> list[SubscriptionRow]:
    with conn.cursor(row_factory=class_row(SubscriptionRow)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE tenant_id = %s ORDER BY created_at, id",
            (tenant_id,),
        ).fetchall()


def find_subscription(conn: psycopg.Connection[Any], subscription_id: UUID) -> SubscriptionRow | None:
    with conn.cursor(row_factory=class_row(SubscriptionRow)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE id = %s", (subscription_id,)
        ).fetchone()


def delete_subscription(conn: psycopg.Connection[Any], subscription_id: UUID) -> bool:
    """Its deliveries go with it (cascade): nothing is sent to a URL its owner removed."""
    return conn.execute("DELETE FROM webhook_subscriptions WHERE id = %s", (subscription_id,)).rowcount == 1


def rotate_subscription_secret(
    conn: psycopg.Connection[Any], subscription_id: UUID, *, secret_ciphertext: bytes, previous_expires_at: datetime
) -> SubscriptionRow | None:
    """The new secret signs from now on; the one it replaces keeps signing beside it until `previous_expires_at`."""
    with conn.cursor(row_factory=class_row(SubscriptionRow)) as cursor:
        return cursor.execute(
            f"""
            UPDATE webhook_subscriptions
            SET previous_secret_ciphertext = secret_ciphertext, previous_secret_expires_at = %s,
                secret_ciphertext = %s
            WHERE id = %s
            RETURNING {_COLUMNS}
            """,
            (previous_expires_at, secret_ciphertext, subscription_id),
        ).fetchone()


def disable_subscription(conn: psycopg.Connection[Any], subscription_id: UUID, *, reason: str) -> None:
    conn.execute(
        "UPDATE webhook_subscriptions SET is_active = false, disabled_reason = %s WHERE id = %s",
        (reason, subscription_id),
    )
