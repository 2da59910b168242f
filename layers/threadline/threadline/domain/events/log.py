"""The event log's readers and its retention: the catch-up page a client asks for after a reconnect, and the
scheduled purge. Appending is the database's work (migration 0015's triggers, in the transaction of each change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from threadline.caller import Caller
from threadline.db.repositories.events import purge_events, read_event_page
from threadline.db.tenancy import run_in_transaction
from threadline.errors import Gone
from threadline.models.events import Event, EventsPage, EventsQuery
from threadline.observability import logger, metrics

# The log keeps at least this long: a client offline for less can always catch up.
EVENT_RETENTION = timedelta(days=7)
# Events removed per scheduled run: a day's events of a busy tenant in a few batches, without a long transaction.
PURGE_BATCH = 50_000
PURGE_BATCHES_PER_RUN = 20

GONE_MESSAGE = (
    "Events after seq {after} are no longer kept (the log keeps {days} days; the oldest kept follows seq "
    "{purged_through}): reload the data you show, then read events after the current seq (next_after of "
    "GET /v1/events?after={purged_through})"
)


def list_events(caller: Caller, query: EventsQuery) -> EventsPage:
    page = run_in_transaction(
        lambda conn: read_event_page(
            conn,
            tenant_id=caller.tenant_id,
            after=query.after,
            limit=query.limit,
            conversation_id=query.conversation_id,
            types=query.types,
        ),
        tenant_id=caller.tenant_id,
    )
    if query.after < page.purged_through:
        raise Gone(
            GONE_MESSAGE.format(after=query.after, days=EVENT_RETENTION.days, purged_through=page.purged_through)
        )
    events = [
        Event(
            seq=row.seq, type=row.type, occurred_at=row.occurred_at, conversation_id=row.conversation_id, data=row.data
        )
        for row in page.events
    ]
    if len(events) == query.limit:
        next_after = events[-1].seq
    else:
        # Caught up: every seq up to the head is committed, so a filtered read need not scan them again.
        next_after = max(query.after, page.last_seq, events[-1].seq if events else 0)
    return EventsPage(events=events, next_after=next_after)


def purge_expired_events(*, now: datetime | None = None) -> int:
    """The scheduled step: remove events older than the retention, across tenants; each tenant's head records the
    highest seq removed (an older `after` is then 410). Returns how many were removed."""
    older_than = (now or datetime.now(UTC)) - EVENT_RETENTION
    removed = 0
    for _ in range(PURGE_BATCHES_PER_RUN):
        batch = run_in_transaction(lambda conn: purge_events(conn, older_than=older_than, limit=PURGE_BATCH))
        removed += batch
        if batch < PURGE_BATCH:
            break
    metrics.add_metric(name="EventsPurged", unit=MetricUnit.Count, value=removed)
    if removed:
        logger.info("event log purged", extra={"events": removed, "older_than": older_than.isoformat()})
    return removed
