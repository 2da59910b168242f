"""The scheduled run (ExpireWindowsFunction, every few minutes): each timed duty of the inbox, one after the other.

Each step is its own domain function with its own transactions, so one step's backlog or failure never holds back
the others' deadlines: closed windows first (the time-bound part), then sends Meta never confirmed (one short query),
then the inbox's own timed work (snoozes that are due, the unassigned queue), then the inbox counts' ledger compacted
(after the wake-ups and assignments, whose deltas it then folds in too), then the deliveries no queue holds (an
interrupted hand-over, retries due later than a queue can delay), pending media likewise, then the event log's
retention, and last the accounts' message templates synced from Meta (the only step that calls out, so a slow Graph
API delays nothing else).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threadline.delivery.dispatcher import sweep_deliveries
from threadline.domain.events.log import purge_expired_events
from threadline.domain.events.targets import TARGET_KINDS
from threadline.domain.inbox.counts import compact_inbox_counts
from threadline.domain.inbox.lifecycle import run_inbox_schedule
from threadline.domain.media.handover import sweep_pending_media
from threadline.domain.replies.expiry import expire_closed_windows, fail_unconfirmed_sends_now
from threadline.domain.templates.sync import sync_all_templates


def run_scheduled_work(*, remaining_time_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    outcome = expire_closed_windows(remaining_time_ms=remaining_time_ms).as_dict()
    outcome["sends_failed_unconfirmed"] = fail_unconfirmed_sends_now()
    outcome["inbox"] = run_inbox_schedule(remaining_time_ms=remaining_time_ms).as_dict()
    outcome["inbox_counts"] = compact_inbox_counts().as_dict()
    outcome["deliveries_swept"] = sweep_deliveries(kinds=TARGET_KINDS)
    outcome["media_swept"] = sweep_pending_media()
    outcome["events_purged"] = purge_expired_events()
    outcome["templates"] = sync_all_templates(remaining_time_ms=remaining_time_ms)
    return outcome
