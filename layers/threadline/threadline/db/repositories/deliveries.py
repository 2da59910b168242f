"""Deliveries (migration 0016): claiming one for an attempt, recording what happened, handing them to the queue, and
the subscription's delivery history. Target-specific reads (a webhook's URL and secrets, a connection's) belong to
each target's own repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import DeliveryStatus, DeliveryTargetKind

_COLUMNS = (
    "id, tenant_id, target_kind, subscription_id, connection_id, event_type, event_seq, body, status, attempts, "
    "last_response_status, last_error, next_attempt_at, give_up_at, created_at, delivered_at"
)


@dataclass(frozen=True)
class DeliveryRow:
    id: UUID
    tenant_id: UUID
    target_kind: DeliveryTargetKind
    subscription_id: UUID | None
    connection_id: UUID | None
    event_type: str
    event_seq: int | None
    body: str
    status: DeliveryStatus
    attempts: int
    last_response_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    give_up_at: datetime
    created_at: datetime
    delivered_at: datetime | None

    @property
    def target_id(self) -> UUID:
        target = self.subscription_id if self.target_kind == "webhook" else self.connection_id
        assert target is not None  # a CHECK constraint ties each kind to its column
        return target


def insert_delivery(
    conn: psycopg.Connection[Any],
    *,
    delivery_id: UUID,
    tenant_id: UUID,
    target_kind: DeliveryTargetKind,
    target_id: UUID,
    event_type: str,
    event_seq: int | None,
    body: str,
) -> None:
    conn.execute(
        """
        INSERT INTO deliveries (id, tenant_id, target_kind, subscription_id, connection_id, event_type, event_seq, body)
        VALUES (%(id)s, %(tenant_id)s, %(kind)s,
                CASE WHEN %(kind)s = 'webhook' THEN %(target)s::uuid END,
                CASE WHEN %(kind)s = 'connection' THEN %(target)s::uuid END,
                %(event_type)s, %(seq)s, %(body)s)
        """,
        {
            "id": delivery_id,
            "tenant_id": tenant_id,
            "kind": target_kind,
            "target": target_id,
            "event_type": event_type,
            "seq": event_seq,
            "body": body,
        },
    )


@dataclass(frozen=True)
class Claim:
    delivery: DeliveryRow | None
    # The target already has this many attempts in flight (the claim was refused to keep within its limit).
    target_busy: bool = False


def claim_delivery(
    conn: psycopg.Connection[Any], delivery_id: UUID, *, now: datetime, lease_until: datetime, max_in_flight: int
) -> Claim:
    """Take the delivery for one attempt (counted) when it is pending, due, not held by another attempt, and its
    target has fewer than `max_in_flight` attempts under way. Row locks make two dispatchers take turns."""
    with conn.cursor(row_factory=class_row(DeliveryRow)) as cursor:
        candidate = cursor.execute(
            f"""
            SELECT {_COLUMNS} FROM deliveries
            WHERE id = %(id)s AND status = 'pending' AND next_attempt_at <= %(now)s + interval '1 second'
              AND (leased_until IS NULL OR leased_until < %(now)s)
            FOR UPDATE SKIP LOCKED
            """,
            {"id": delivery_id, "now": now},
        ).fetchone()
    if candidate is None:
        return Claim(None)
    row = conn.execute(
        """
        SELECT count(*) FROM deliveries
        WHERE tenant_id = %(tenant_id)s AND status = 'pending' AND leased_until >= %(now)s AND id <> %(id)s
          AND (subscription_id = %(target)s OR connection_id = %(target)s)
        """,
        {"tenant_id": candidate.tenant_id, "now": now, "id": delivery_id, "target": candidate.target_id},
    ).fetchone()
    if row is not None and row[0] >= max_in_flight:
        return Claim(None, target_busy=True)
    conn.execute(
        "UPDATE deliveries SET leased_until = %s, attempts = attempts + 1 WHERE id = %s", (lease_until, delivery_id)
    )
    return Claim(candidate)


def record_attempt(
    conn: psycopg.Connection[Any],
    delivery_id: UUID,
    *,
    status: DeliveryStatus,
    response_status: int | None,
    error: str | None,
    response_body: str | None,
    next_attempt_at: datetime | None,
    enqueued_at: datetime | None,
    now: datetime,
) -> None:
    conn.execute(
        """
        UPDATE deliveries
        SET status = %(status)s, last_response_status = %(response_status)s, last_error = %(error)s,
            last_response_body = %(response_body)s, leased_until = NULL,
            next_attempt_at = coalesce(%(next_attempt_at)s, next_attempt_at), enqueued_at = %(enqueued_at)s,
            delivered_at = CASE WHEN %(status)s = 'delivered' THEN %(now)s ELSE delivered_at END
        WHERE id = %(id)s
        """,
        {
            "id": delivery_id,
            "status": status,
            "response_status": response_status,
            "error": error,
            "response_body": response_body,
            "next_attempt_at": next_attempt_at,
            "enqueued_at": enqueued_at,
            "now": now,
        },
    )


def release_delivery(conn: psycopg.Connection[Any], delivery_id: UUID, *, next_attempt_at: datetime) -> None:
    """An attempt that never started (its target was busy): try again later, without counting it."""
    conn.execute(
        "UPDATE deliveries SET next_attempt_at = %s, enqueued_at = NULL WHERE id = %s AND status = 'pending'",
        (next_attempt_at, delivery_id),
    )


def take_unqueued_deliveries(conn: psycopg.Connection[Any], tenant_id: UUID, *, limit: int) -> list[UUID]:
    """The tenant's pending deliveries no queue has heard of, marked as handed over now."""
    rows = conn.execute(
        """
        WITH unqueued AS (
            SELECT id FROM deliveries
            WHERE tenant_id = %(tenant_id)s AND status = 'pending' AND enqueued_at IS NULL
            ORDER BY created_at LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE deliveries d SET enqueued_at = now() FROM unqueued u WHERE d.id = u.id
        RETURNING d.id
        """,
        {"tenant_id": tenant_id, "limit": limit},
    ).fetchall()
    return [row[0] for row in rows]


def claim_unqueued_deliveries(
    conn: psycopg.Connection[Any], *, now: datetime, stale_before: datetime, limit: int
) -> list[tuple[UUID, UUID]]:
    """(tenant_id, delivery_id) of due deliveries no queue holds, across tenants (migration 0016's door)."""
    rows = conn.execute(
        "SELECT tenant_id, delivery_id FROM claim_unqueued_deliveries(%s, %s, %s)", (now, stale_before, limit)
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def list_subscription_deliveries(
    conn: psycopg.Connection[Any], tenant_id: UUID, subscription_id: UUID, *, limit: int
) -> list[DeliveryRow]:
    with conn.cursor(row_factory=class_row(DeliveryRow)) as cursor:
        return cursor.execute(
            f"""
            SELECT {_COLUMNS} FROM deliveries
            WHERE tenant_id = %s AND subscription_id = %s
            ORDER BY created_at DESC, id DESC LIMIT %s
            """,
            (tenant_id, subscription_id, limit),
        ).fetchall()


def schedule_redelivery(
    conn: psycopg.Connection[Any], subscription_id: UUID, delivery_id: UUID, *, now: datetime, give_up_at: datetime
) -> DeliveryRow | None:
    """Pending again, due now, with a fresh 24 hours of retries (the attempts so far stay counted)."""
    with conn.cursor(row_factory=class_row(DeliveryRow)) as cursor:
        return cursor.execute(
            f"""
            UPDATE deliveries
            SET status = 'pending', next_attempt_at = %(now)s, give_up_at = %(give_up_at)s, enqueued_at = NULL,
                leased_until = NULL
            WHERE id = %(id)s AND subscription_id = %(subscription_id)s
            RETURNING {_COLUMNS}
            """,
            {"id": delivery_id, "subscription_id": subscription_id, "now": now, "give_up_at": give_up_at},
        ).fetchone()


def end_target_deliveries(conn: psycopg.Connection[Any], *, subscription_id: UUID, reason: str) -> None:
    """A disabled subscription's pending deliveries end dead (redeliverable once it is replaced)."""
    conn.execute(
        "UPDATE deliveries SET status = 'dead', last_error = %s, leased_until = NULL"
        " WHERE subscription_id = %s AND status = 'pending'",
        (reason, subscription_id),
    )
