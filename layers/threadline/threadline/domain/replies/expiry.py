"""The scheduled window expiry: notice, exactly once, every conversation whose reply window has closed.

A window belongs to the conversation, by its channel's rule (WhatsApp 24 hours per business number, WeChat 48; none on
Telegram and Signal, whose conversations never have one: migration 0018). It is open exactly while
`conversations.window_expires_at` is in the future; every reader computes that itself. What the job adds is one moment
at which each closed window is noticed, so the real-time feed can tell agents "template required" before they type,
and a metric counts them. The job marks windows by moving its progress mark past their closing time (migrations 0003,
0008, 0018): no conversation row is rewritten, so a run costs one index range read however many windows closed.

A run is a loop of batches, each its own transaction: a crash or timeout loses at most the batch in flight, which the
next run does again (the mark only moves when a batch commits). The loop ends when the mark has caught up with the
clock, or when the Lambda's remaining time would not cover another batch.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.channels import platforms_confirming_sends
from threadline.db.repositories.events import append_window_closed_events
from threadline.db.repositories.sending import fail_unconfirmed_sends
from threadline.db.repositories.window_expiry import (
    ExpiredConversationWindow,
    WindowExpiryBatch,
    expire_window_batch,
)
from threadline.db.tenancy import run_in_transaction
from threadline.observability import logger, metrics
from threadline.realtime.publisher import ExpiredWindow, publish_stored_messages, publish_window_expiries

# Windows per batch: a backlog of a million is one index range read (`make bench-expiry`); a usual run (the last few
# minutes' windows) is far smaller.
BATCH_SIZE = 1_000_000
# Stop when the time left is below this many times the slowest batch so far (plus a fixed margin for the last
# commit and the metrics flush): the next run continues from the progress mark.
TIME_LEFT_BATCHES = 2
TIME_LEFT_MARGIN_MS = 3_000

# A send whose outcome Meta never told us (its answer was lost: a timeout, 5xx on every attempt, a garbled reply)
# stays pending while Meta may still deliver it and say so in a status webhook, which normally arrives within
# minutes. After an hour without one, nobody should wait any longer: the message ends failed, and the agents
# watching the conversation see it. A status that still arrives later moves it to what Meta says.
UNCONFIRMED_SEND_AFTER = timedelta(hours=1)
UNCONFIRMED_SEND_DETAILS = (
    "Meta's answer to this send was lost and no status webhook confirmed it within an hour; it was probably not "
    "delivered"
)
# Per run (every few minutes): far more than the sends a Meta outage leaves pending in that time.
UNCONFIRMED_SENDS_PER_RUN = 1_000

WindowsListener = Callable[[UUID, Sequence[ExpiredConversationWindow]], None]


@dataclass(frozen=True)
class WindowExpiryOutcome:
    windows_expired: int
    batches: int
    caught_up: bool
    # The progress mark: every window that closed up to this instant has been noticed.
    expired_through: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows_expired": self.windows_expired,
            "batches": self.batches,
            "caught_up": self.caught_up,
            "expired_through": self.expired_through.isoformat(),
        }


def announce_expired_windows(tenant_id: UUID, windows: Sequence[ExpiredConversationWindow]) -> None:
    """The real-time feed: the subscribers of these conversations hear that their window closed."""
    publish_window_expiries(
        tenant_id, [ExpiredWindow(w.conversation_id, w.contact_id, w.window_expires_at) for w in windows]
    )


def expire_closed_windows(
    *,
    batch_size: int = BATCH_SIZE,
    remaining_time_ms: Callable[[], int] | None = None,
    on_windows_expired: WindowsListener | None = announce_expired_windows,
) -> WindowExpiryOutcome:
    """Notice every conversation window that has closed, batch by batch, across all tenants.

    `remaining_time_ms` is the Lambda context's clock (None: run until caught up). `on_windows_expired` is called
    after each batch commits with each tenant's closed windows that someone subscribes to (by default the real-time
    feed); with None the batches return counts only.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    windows_expired = batches = 0
    slowest_batch_ms = 0.0

    def one_batch(conn: psycopg.Connection[Any]) -> WindowExpiryBatch:
        batch = expire_window_batch(conn, batch_size=batch_size, list_windows=on_windows_expired is not None)
        # The event log's window.closed events, in the transaction that moved the mark (migration 0015).
        append_window_closed_events(conn)
        return batch

    while True:
        started = time.monotonic()
        last: WindowExpiryBatch = run_in_transaction(one_batch)
        slowest_batch_ms = max(slowest_batch_ms, (time.monotonic() - started) * 1000)
        batches += 1
        windows_expired += last.windows_expired
        if on_windows_expired is not None:
            for tenant_id, windows in last.windows_by_tenant().items():
                on_windows_expired(tenant_id, windows)
        if last.caught_up:
            break
        if remaining_time_ms is not None and remaining_time_ms() < (
            TIME_LEFT_BATCHES * slowest_batch_ms + TIME_LEFT_MARGIN_MS
        ):
            logger.warning(
                "window expiry stopped before catching up; the next run continues",
                extra={"batches": batches, "expired_through": last.expired_through.isoformat()},
            )
            break

    outcome = WindowExpiryOutcome(
        windows_expired=windows_expired,
        batches=batches,
        caught_up=last.caught_up,
        expired_through=last.expired_through,
    )
    metrics.add_metric(name="WindowsExpired", unit=MetricUnit.Count, value=windows_expired)
    logger.info("window expiry run", extra=outcome.as_dict())
    return outcome


def fail_unconfirmed_sends_now(*, now: datetime | None = None) -> int:
    """End as failed ("Not confirmed by Meta") every send still pending UNCONFIRMED_SEND_AFTER after it was written,
    across tenants, and tell each conversation's subscribers (a `status` frame). Returns how many."""
    pending_before = (now or datetime.now(UTC)) - UNCONFIRMED_SEND_AFTER
    failed = run_in_transaction(
        lambda conn: fail_unconfirmed_sends(
            conn,
            pending_before=pending_before,
            details=UNCONFIRMED_SEND_DETAILS,
            limit=UNCONFIRMED_SENDS_PER_RUN,
            platforms=platforms_confirming_sends(),
        )
    )
    by_tenant: dict[UUID, list[int]] = defaultdict(list)
    for send in failed:
        by_tenant[send.tenant_id].append(send.message_id)
    for tenant_id, message_ids in by_tenant.items():
        publish_stored_messages(tenant_id, "status", message_ids)
    metrics.add_metric(name="UnconfirmedSendsFailed", unit=MetricUnit.Count, value=len(failed))
    if failed:
        logger.warning("sends not confirmed by Meta ended as failed", extra={"messages": len(failed)})
    return len(failed)
