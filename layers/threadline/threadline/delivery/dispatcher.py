"""The dispatcher: attempts deliveries, at least once (only DeliveryDispatchFunction, the scheduled sweep and their
local stand-ins load it; writers use threadline.delivery.outbox).

Each attempt (`dispatch`, one per queued delivery):
- claim it (a lease, so a redriven message cannot attempt it twice at once; at most MAX_IN_FLIGHT_PER_TARGET attempts
  per target at a time, so one slow receiver holds a bounded share of the dispatcher, never another tenant's);
- resolve the target's host, refuse private/link-local/metadata addresses, connect to the checked address
  (threadline.delivery.addresses), POST the fixed body signed with every secret that currently signs;
- a 2xx within 10 s is delivered; a 410 ends it and tells the target (a webhook subscription is disabled); anything
  else (another status, a timeout, a refused connection or address) is retried with exponential backoff and full
  jitter until `give_up_at` (24 hours), then it is dead (redeliverable).

The scheduled sweep (`sweep_deliveries`) hands over whatever an interrupted function never did, and every retry due
later than a queue can delay. What each kind of target does (its endpoint; a 2xx, a 410, a delivery given up) comes
in as a map, `kinds` (threadline.delivery.targets): the entry point that dispatches builds it, so this module imports
no target and no target registers itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.deliveries import (
    DeliveryRow,
    claim_delivery,
    claim_unqueued_deliveries,
    record_attempt,
    release_delivery,
)
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.addresses import AddressRefused, Resolver, resolve_destination, system_resolver
from threadline.delivery.queue import MAX_DELAY_SECONDS, QueuedDelivery, delivery_queue
from threadline.delivery.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header
from threadline.delivery.targets import AfterCommit, Endpoint, TargetKind, TargetKinds
from threadline.delivery.transport import Answer, TransportFailed, post
from threadline.observability import logger, metrics

FIRST_RETRY_SECONDS = 10.0
LONGEST_RETRY_SECONDS = 3600.0
# An attempt holds its delivery this long: longer than connect + answer timeouts (13 s) with room to record it.
LEASE = timedelta(seconds=60)
MAX_IN_FLIGHT_PER_TARGET = 4
BUSY_TARGET_RETRY = timedelta(seconds=5)
DISPATCH_THREADS = 8
# A hand-over older than this with the delivery still pending and due: the queue lost it (or the function that
# sent it died before it was delivered); the sweep hands it over again.
STALE_HAND_OVER = timedelta(minutes=15)
SWEEP_BATCH = 500
MAX_ERROR_CHARS = 500
MAX_RESPONSE_BODY_CHARS = 65_536
USER_AGENT = "Threadline-Webhooks/1"


def sweep_deliveries(*, kinds: TargetKinds, now: datetime | None = None, resolver: Resolver = system_resolver) -> int:
    """The scheduled step: hand over every due delivery no queue holds, across tenants. Without a queue (a
    deployment or test without one) the sweep attempts them itself."""
    now = now or datetime.now(UTC)
    claimed = run_in_transaction(
        lambda conn: claim_unqueued_deliveries(conn, now=now, stale_before=now - STALE_HAND_OVER, limit=SWEEP_BATCH)
    )
    found = [QueuedDelivery(tenant_id, delivery_id) for tenant_id, delivery_id in claimed]
    if found:
        queue = delivery_queue()
        if queue is not None:
            queue.send(found)
        else:
            dispatch(found, kinds=kinds, now=now, resolver=resolver)
    metrics.add_metric(name="DeliveriesSwept", unit=MetricUnit.Count, value=len(found))
    return len(found)


# ---------------------------------------------------------------------------------------------------------------
# Attempting
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class DispatchOutcome:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    # Messages whose attempt could not even be recorded (the database failed): the queue should redrive them.
    failed: list[QueuedDelivery] = field(default_factory=list)


def dispatch(
    deliveries: Sequence[QueuedDelivery],
    *,
    kinds: TargetKinds,
    now: datetime | None = None,
    resolver: Resolver = system_resolver,
) -> DispatchOutcome:
    """Attempt each delivery once (concurrently, DISPATCH_THREADS at most). `now` fixes the clock (tests)."""
    outcome = DispatchOutcome()
    if not deliveries:
        return outcome

    def one(queued: QueuedDelivery) -> str:
        try:
            return attempt_delivery(queued, kinds=kinds, now=now, resolver=resolver)
        except Exception:
            logger.exception("delivery attempt failed", extra={"delivery_id": str(queued.delivery_id)})
            outcome.failed.append(queued)
            return "failed"

    if len(deliveries) == 1:
        results = [one(deliveries[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(DISPATCH_THREADS, len(deliveries))) as pool:
            results = list(pool.map(one, deliveries))
    for result in results:
        if result in ("delivered", "retrying", "dead"):
            outcome.attempted += 1
            setattr(outcome, result, getattr(outcome, result) + 1)
        elif result == "skipped":
            outcome.skipped += 1
    metrics.add_metric(name="DeliveriesDelivered", unit=MetricUnit.Count, value=outcome.delivered)
    metrics.add_metric(name="DeliveriesRetrying", unit=MetricUnit.Count, value=outcome.retrying)
    metrics.add_metric(name="DeliveriesDead", unit=MetricUnit.Count, value=outcome.dead)
    return outcome


def retry_delay_seconds(attempts: int, *, rng: Callable[[float, float], float] = random.uniform) -> float:
    """Exponential backoff with full jitter: 10 s, 20 s, 40 s, ... capped at an hour, each drawn in [half, all]."""
    ceiling = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    return rng(ceiling / 2, ceiling)


def attempt_delivery(
    queued: QueuedDelivery,
    *,
    kinds: TargetKinds,
    now: datetime | None = None,
    resolver: Resolver = system_resolver,
) -> str:
    """One attempt: 'delivered', 'retrying', 'dead', or 'skipped' (not due, held, done, or its target busy)."""
    clock = now or datetime.now(UTC)

    def claim(conn: psycopg.Connection[Any]) -> tuple[DeliveryRow | None, Endpoint | None, bool]:
        found = claim_delivery(
            conn, queued.delivery_id, now=clock, lease_until=clock + LEASE, max_in_flight=MAX_IN_FLIGHT_PER_TARGET
        )
        if found.delivery is None:
            if found.target_busy:
                release_delivery(conn, queued.delivery_id, next_attempt_at=clock + BUSY_TARGET_RETRY)
            return None, None, found.target_busy
        kind = kinds[found.delivery.target_kind]
        return found.delivery, kind.load_endpoint(conn, found.delivery.target_id, clock), False

    delivery, endpoint, busy = run_in_transaction(claim, tenant_id=queued.tenant_id)
    if delivery is None:
        if busy:
            _requeue(queued, BUSY_TARGET_RETRY)
        return "skipped"
    kind = kinds[delivery.target_kind]
    if endpoint is None or not endpoint.active:
        _record(kind, queued, delivery, status="dead", error="The target is disabled or gone", now=clock)
        return "dead"

    body = delivery.body.encode("utf-8")
    timestamp = int(clock.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.id),
        SIGNATURE_HEADER: signature_header(endpoint.secrets, timestamp, body),
    }
    try:
        destination = resolve_destination(endpoint.url, resolver=resolver)
        answer = post(destination, headers=headers, body=body)
    except (AddressRefused, TransportFailed) as error:
        return _failed(kind, queued, delivery, clock, response_status=None, error=str(error))
    if 200 <= answer.status < 300:
        _record(kind, queued, delivery, status="delivered", response_status=answer.status, now=clock, answer=answer)
        return "delivered"
    if answer.status == 410:
        _record(
            kind,
            queued,
            delivery,
            status="dead",
            response_status=410,
            error="The receiver answered 410 Gone: its subscription is disabled",
            now=clock,
            gone=True,
        )
        return "dead"
    return _failed(kind, queued, delivery, clock, response_status=answer.status, error=f"HTTP {answer.status}")


def _failed(
    kind: TargetKind,
    queued: QueuedDelivery,
    delivery: DeliveryRow,
    clock: datetime,
    *,
    response_status: int | None,
    error: str,
) -> str:
    delay = retry_delay_seconds(delivery.attempts + 1)
    next_attempt_at = clock + timedelta(seconds=delay)
    if next_attempt_at >= delivery.give_up_at:
        _record(kind, queued, delivery, status="dead", response_status=response_status, error=error, now=clock)
        return "dead"
    # A retry within SQS's longest delay goes back on the queue; a later one is the sweep's to hand over.
    handed_over = delay <= MAX_DELAY_SECONDS and delivery_queue() is not None
    _record(
        kind,
        queued,
        delivery,
        status="pending",
        response_status=response_status,
        error=error,
        now=clock,
        next_attempt_at=next_attempt_at,
        enqueued_at=clock if handed_over else None,
    )
    if handed_over:
        _requeue(queued, timedelta(seconds=delay))
    return "retrying"


def _record(
    kind: TargetKind,
    queued: QueuedDelivery,
    delivery: DeliveryRow,
    *,
    status: str,
    now: datetime,
    response_status: int | None = None,
    error: str | None = None,
    answer: Answer | None = None,
    next_attempt_at: datetime | None = None,
    enqueued_at: datetime | None = None,
    gone: bool = False,
) -> None:
    def write(conn: psycopg.Connection[Any]) -> list[Callable[[], None]]:
        record_attempt(
            conn,
            delivery.id,
            status=status,  # type: ignore[arg-type]  # one of DeliveryStatus, chosen above
            response_status=response_status,
            error=error[:MAX_ERROR_CHARS] if error else None,
            response_body=answer.body.decode("utf-8", "replace")[:MAX_RESPONSE_BODY_CHARS] if answer else None,
            next_attempt_at=next_attempt_at,
            enqueued_at=enqueued_at,
            now=now,
        )
        after: list[AfterCommit] = []
        if answer is not None:
            after.append(kind.on_delivered(conn, delivery, answer))
        if gone:
            after.append(kind.on_gone(conn, delivery))
        if status == "dead":
            after.append(kind.on_dead(conn, delivery))
        return [step for step in after if step is not None]

    for step in run_in_transaction(write, tenant_id=queued.tenant_id):
        try:
            step()
        except Exception:  # the record committed; a frame that could not go out must not redo the attempt
            logger.exception("after-delivery step failed", extra={"delivery_id": str(delivery.id)})
    if status == "dead":
        logger.warning(
            "delivery dead",
            extra={"delivery_id": str(delivery.id), "status": status, "attempts": delivery.attempts + 1},
        )


def _requeue(queued: QueuedDelivery, delay: timedelta) -> None:
    queue = delivery_queue()
    if queue is None:
        return
    try:
        queue.send([queued], delay_seconds=int(delay.total_seconds()))
    except Exception:
        logger.exception("delivery re-queue failed; the scheduled sweep retries it")


def queued_from_records(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, QueuedDelivery]]:
    """(messageId, delivery) of an SQS event's records."""
    return [(record["messageId"], QueuedDelivery.from_json(record["body"])) for record in records]
