"""The scheduled window expiry: mark every contact whose 24-hour WhatsApp window has closed.

The list API already derives a conversation's window from `window_expires_at`; what the job adds is one moment at
which each closed window is noticed, exactly once, so that the real-time feed can tell agents "template required"
before they type. A conversation's window is its contact's, so the job marks contacts and counts the conversations
that show them.

A run is a loop of batches, each its own transaction: a crash or timeout loses at most the batch in flight, which
the next run does again (nothing is marked twice: the statement only touches windows still marked open). The loop
ends when every closed window is marked, or when the Lambda's remaining time would not cover another batch; the next
scheduled run picks up from the progress mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.window_expiry import ExpiredContactWindow, WindowExpiryBatch, expire_window_batch
from threadline.db.tenancy import run_in_transaction
from threadline.observability import logger, metrics

# Windows per batch. Large on purpose: the closing times of a backlog are spread over every page of contacts, so
# each batch rewrites nearly every page whatever its size; one pass of a million cost 6 s where four batches of
# 250,000 cost 24 s (`make bench-expiry`). A usual run (the windows of the last few minutes) is far smaller.
BATCH_SIZE = 1_000_000
# Stop when the time left is below this many times the slowest batch so far (plus a fixed margin for the last
# commit and the metrics flush): the next run continues from the progress mark.
TIME_LEFT_BATCHES = 2
TIME_LEFT_MARGIN_MS = 3_000

WindowsListener = Callable[[UUID, Sequence[ExpiredContactWindow]], None]


@dataclass(frozen=True)
class WindowExpiryOutcome:
    contacts_expired: int
    conversations_affected: int
    batches: int
    caught_up: bool
    # The progress mark: every window that closed up to this instant (less the lookback) is marked.
    expired_through: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "contacts_expired": self.contacts_expired,
            "conversations_affected": self.conversations_affected,
            "batches": self.batches,
            "caught_up": self.caught_up,
            "expired_through": self.expired_through.isoformat(),
        }


def expire_closed_windows(
    *,
    batch_size: int = BATCH_SIZE,
    remaining_time_ms: Callable[[], int] | None = None,
    on_windows_expired: WindowsListener | None = None,
) -> WindowExpiryOutcome:
    """Mark expired every contact whose window has closed, batch by batch, across all tenants.

    `remaining_time_ms` is the Lambda context's clock (None: run until caught up). `on_windows_expired`, when given,
    is called after each batch commits with each tenant's contacts whose window that batch closed (the real-time
    feed); without it the batches return counts only.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    contacts_expired = conversations_affected = batches = 0
    slowest_batch_ms = 0.0

    def one_batch(conn: psycopg.Connection[Any]) -> WindowExpiryBatch:
        return expire_window_batch(conn, batch_size=batch_size, list_windows=on_windows_expired is not None)

    while True:
        started = time.monotonic()
        last: WindowExpiryBatch = run_in_transaction(one_batch)
        slowest_batch_ms = max(slowest_batch_ms, (time.monotonic() - started) * 1000)
        batches += 1
        contacts_expired += last.contacts_expired
        conversations_affected += last.conversations_affected
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
        contacts_expired=contacts_expired,
        conversations_affected=conversations_affected,
        batches=batches,
        caught_up=last.caught_up,
        expired_through=last.expired_through,
    )
    metrics.add_metric(name="WindowsExpired", unit=MetricUnit.Count, value=contacts_expired)
    metrics.add_metric(name="ConversationWindowsExpired", unit=MetricUnit.Count, value=conversations_affected)
    logger.info("window expiry run", extra=outcome.as_dict())
    return outcome
