"""Writing deliveries and handing them over: what every writer needs, and nothing of the dispatcher.

A delivery is a row (migration 0016) written in the transaction of the change it reports, so it commits with the
change or not at all: the event log's fan-out trigger writes webhook subscriptions' deliveries, and a connector reply
is written here (`enqueue_delivery`). After the commit its writer hands it to the dispatcher's queue
(`hand_over_deliveries`: SQS in AWS, a local queue under `make dev`); the scheduled sweep
(threadline.delivery.dispatcher.sweep_deliveries) hands over whatever an interrupted function never did.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.deliveries import insert_delivery, take_unqueued_deliveries
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.queue import QueuedDelivery, delivery_queue
from threadline.models.timestamps import js_timestamp
from threadline.observability import logger, metrics
from threadline.vocabulary import DeliveryTargetKind

# A delivery is retried this long after it was written (or redelivered), then given up.
RETRY_FOR = timedelta(hours=24)
HAND_OVER_BATCH = 500


@dataclass(frozen=True)
class DeliveryTarget:
    """Who receives a delivery: a webhook subscription or a connection, by id."""

    kind: DeliveryTargetKind
    id: UUID


def delivery_body(
    *, delivery_id: UUID, tenant_id: UUID, event_type: str, seq: int | None, occurred_at: datetime, data: Any
) -> str:
    """The envelope every delivery posts (the event-log fan-out builds the same one in SQL, migration 0016)."""
    return json.dumps(
        {
            "id": str(delivery_id),
            "event": event_type,
            "seq": seq,
            "occurred_at": js_timestamp(occurred_at),
            "tenant_id": str(tenant_id),
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


def enqueue_delivery(
    conn: psycopg.Connection[Any],
    target: DeliveryTarget,
    *,
    tenant_id: UUID,
    event_type: str,
    data: Any,
    seq: int | None = None,
    occurred_at: datetime | None = None,
) -> UUID:
    """Write a delivery in the caller's transaction (it commits with the change it reports). After the commit call
    `hand_over_deliveries(tenant_id)` (the scheduled sweep does it otherwise). Returns the delivery's id, which is
    its Threadline-Delivery header and body `id`."""
    delivery_id = uuid.uuid4()
    body = delivery_body(
        delivery_id=delivery_id,
        tenant_id=tenant_id,
        event_type=event_type,
        seq=seq,
        occurred_at=occurred_at or datetime.now(UTC),
        data=data,
    )
    insert_delivery(
        conn,
        delivery_id=delivery_id,
        tenant_id=tenant_id,
        target_kind=target.kind,
        target_id=target.id,
        event_type=event_type,
        event_seq=seq,
        body=body,
    )
    return delivery_id


def hand_over_deliveries(tenant_id: UUID) -> int:
    """After a commit: tell the dispatcher's queue about the tenant's deliveries it has not heard of. Never raises
    (the change committed; the sweep hands over whatever this could not). Without a queue, does nothing."""
    queue = delivery_queue()
    if queue is None:
        return 0
    try:
        ids = run_in_transaction(
            lambda conn: take_unqueued_deliveries(conn, tenant_id, limit=HAND_OVER_BATCH), tenant_id=tenant_id
        )
        if ids:
            queue.send([QueuedDelivery(tenant_id, delivery_id) for delivery_id in ids])
        return len(ids)
    except Exception:
        logger.exception("delivery hand-over failed; the scheduled sweep retries it")
        metrics.add_metric(name="DeliveryHandOverFailures", unit=MetricUnit.Count, value=1)
        return 0
