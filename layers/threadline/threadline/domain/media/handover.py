"""Handing media to the copy step after the commit that recorded them, and the scheduled sweep for hand-overs
that were lost (a function that ended between its commit and its enqueue, SQS unreachable).

A pending row is written with `enqueued_at = now()` (the hand-over follows its commit at once), so the sweep leaves
it alone for HANDOVER_STALE_AFTER, longer than SQS's longest delay; after that it is handed over again. A job handed
over twice does nothing twice (the copy step's compare-and-set on `state = 'pending'`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.media import claim_pending_media
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.media_queue import MediaCopyJob, media_queue
from threadline.delivery.queue import MAX_DELAY_SECONDS
from threadline.observability import logger, metrics

HANDOVER_STALE_AFTER = timedelta(seconds=MAX_DELAY_SECONDS + 300)
SWEEP_BATCH = 500


def hand_over_media(tenant_id: UUID, message_ids: Sequence[int]) -> int:
    """After the commit: tell the copy queue. Never raises (the messages committed; the sweep retries)."""
    queue = media_queue()
    if queue is None or not message_ids:
        return 0
    try:
        queue.send([MediaCopyJob(tenant_id, message_id) for message_id in message_ids])
        return len(message_ids)
    except Exception:
        logger.exception("media hand-over failed; the scheduled sweep retries it")
        metrics.add_metric(name="MediaHandOverFailures", unit=MetricUnit.Count, value=1)
        return 0


def sweep_pending_media(*, now: datetime | None = None) -> int:
    """The scheduled run: pending media that are due and that no queue can still be holding, handed over again."""
    queue = media_queue()
    if queue is None:
        return 0
    moment = now or datetime.now(UTC)
    claimed = run_in_transaction(
        lambda conn: claim_pending_media(
            conn, now=moment, stale_before=moment - HANDOVER_STALE_AFTER, limit=SWEEP_BATCH
        )
    )
    if claimed:
        queue.send([MediaCopyJob(row.tenant_id, row.message_id) for row in claimed])
    return len(claimed)
