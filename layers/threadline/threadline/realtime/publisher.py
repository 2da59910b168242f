"""Pushing frames to WebSocket subscribers through API Gateway's management API (`post_to_connection`).

Callers publish AFTER their write committed, and publishing never raises: a subscriber that misses a frame can
reload, while a write that failed because a browser went away would lose data. Each call costs one indexed query
of the tenant's subscriptions (run as that tenant, so another tenant's subscribers can never be found) and nothing
else when nobody subscribes; with subscribers, the frames go out over a small thread pool, one connection's frames
in order on one thread. Connections API Gateway reports gone (410) are deleted.

Every frame carries the `seq` of the event-log event it shows (migration 0015 appended it in the write's own
transaction): the same query transaction that finds the subscribers looks the seqs up (one more statement, only
when somebody subscribes). A client that reconnects asks GET /v1/events?after=<the last seq it saw> and gets exactly
what it missed. A frame whose event cannot be found (purged meanwhile) carries `seq: null`.

WEBSOCKET_MANAGEMENT_URL is the WebSocket API's management endpoint (https://{api-id}.execute-api.{region}.
amazonaws.com/{stage}; the local gateway's own URL under `make dev`). Without it publishing is off.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache, wraps
from typing import Any, ParamSpec
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.db.repositories.events import FrameEventKey, find_frame_seqs
from threadline.db.repositories.inbox_counts import sum_by_key
from threadline.db.repositories.realtime import (
    RealtimeMessage,
    Subscriber,
    delete_connections,
    find_newly_stored_messages,
    find_subscribed_messages,
    find_subscribed_reactions,
    find_subscribers,
    find_window_subscribers,
)
from threadline.db.tenancy import run_in_transaction
from threadline.delivery.outbox import hand_over_deliveries
from threadline.models.frames import (
    ConversationMessageFrame,
    InboxCountsFrame,
    InboxFrame,
    PushedFrame,
    SessionFrameMessage,
)
from threadline.observability import logger, metrics
from threadline.realtime.actions import INBOX_TOPIC_ID
from threadline.realtime.frames import (
    ConversationEvent,
    MessageEventKind,
    conversation_message_event,
    conversation_resync_event,
    encode_frame,
    inbox_counts_frame_of,
    message_reactions_event,
    session_message_frame,
    window_expired_event,
)

MANAGEMENT_URL_VARIABLE = "WEBSOCKET_MANAGEMENT_URL"
# Posts in flight at once. Each is one HTTPS round trip to API Gateway; eight keep a few hundred subscribers within
# about a second without opening more connections than the client's pool holds.
MAX_PARALLEL_POSTS = 8
# A write that adds more messages to one conversation than this (a connector's backfill) sends its subscribers one
# `conversation_resync` frame instead of a frame per message.
MAX_MESSAGES_PUSHED_PER_CONVERSATION = 25

P = ParamSpec("P")


def _never_raises(publish: Callable[P, None]) -> Callable[P, None]:
    """Whatever goes wrong (database, AWS, a frame that will not encode), the write that called us stands.

    Every writer publishes after its commit, so this is also where the committed changes' deliveries (webhooks,
    written by the event log's fan-out in the same transaction) are handed to the dispatcher's queue; that hand-over
    never raises either, and the scheduled sweep covers it when it fails."""

    @wraps(publish)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            publish(*args, **kwargs)
        except Exception:
            logger.exception("real-time publish failed", extra={"publish": publish.__name__})
            metrics.add_metric(name="RealtimePublishFailures", unit=MetricUnit.Count, value=1)
        if args and isinstance(args[0], UUID):
            hand_over_deliveries(args[0])

    return guarded


@dataclass(frozen=True)
class IngestedConversation:
    """What an ingest wrote to one conversation: how many messages were new, among the external ids it carried."""

    conversation_id: int
    messages_added: int
    message_external_ids: Sequence[str]


@dataclass(frozen=True)
class ExpiredWindow:
    conversation_id: int
    contact_id: UUID
    window_expires_at: datetime


@dataclass
class _Delivery:
    """The frames for each connection, in the order they must arrive, and the seq of each (by the frame's identity:
    several connections receive the same frame)."""

    frames: dict[str, list[PushedFrame]] = field(default_factory=lambda: defaultdict(list))
    seqs: dict[int, int | None] = field(default_factory=dict)

    def add(self, connection_id: str, frame: PushedFrame) -> None:
        self.frames[connection_id].append(frame)

    def distinct_frames(self) -> list[PushedFrame]:
        """Each frame once, though several connections receive it."""
        return list({id(frame): frame for frames in self.frames.values() for frame in frames}.values())

    def encoded(self) -> dict[str, list[bytes]]:
        """Each connection's frames with their seqs, each frame encoded once."""
        encoded = {
            id(frame): encode_frame(frame.model_copy(update={"seq": self.seqs.get(id(frame))}))
            for frame in self.distinct_frames()
        }
        return {
            connection_id: [encoded[id(frame)] for frame in frames] for connection_id, frames in self.frames.items()
        }


@dataclass
class _Outcome:
    posted: int = 0
    failed: int = 0
    gone: list[str] = field(default_factory=list)


def management_url() -> str | None:
    return os.environ.get(MANAGEMENT_URL_VARIABLE) or None


@lru_cache(maxsize=4)
def _management_client(endpoint_url: str) -> Any:
    # Imported here: most invocations publish to nobody, and boto3's import would sit in every cold start.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": 2},
        max_pool_connections=MAX_PARALLEL_POSTS,
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=config)


def reset_management_client() -> None:
    """Forget the cached clients (tests and the local gateway point the endpoint elsewhere)."""
    _management_client.cache_clear()


# ---------------------------------------------------------------------------------------------------------------
# What writers call.
# ---------------------------------------------------------------------------------------------------------------


@_never_raises
def publish_session_message(tenant_id: UUID, session_uuid: str, message: SessionFrameMessage) -> None:
    """Push a captured chat-session message to the session's subscribers in `tenant_id`."""

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        subscribers = find_subscribers(conn, tenant_id=tenant_id, topic="session", topic_ids=[session_uuid])
        if not subscribers:
            return None
        delivery = _Delivery()
        frame = session_message_frame(session_uuid, message)
        for subscriber in subscribers:
            delivery.add(subscriber.connection_id, frame)
        return delivery

    _publish(tenant_id, plan)


@_never_raises
def publish_conversation_events(tenant_id: UUID, events: Sequence[ConversationEvent]) -> None:
    """Push each event to the subscribers of its conversation in `tenant_id`, in the order given."""
    if not events:
        return

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        topic_ids = sorted({str(event.conversation_id) for event in events})
        subscribers = find_subscribers(conn, tenant_id=tenant_id, topic="conversation", topic_ids=topic_ids)
        return _deliver_in_order(subscribers, events) if subscribers else None

    _publish(tenant_id, plan)


@_never_raises
def publish_inbox_event(tenant_id: UUID, frame: InboxFrame) -> None:
    """Push one frame to every subscriber of the tenant's inbox feed (`subscribe_inbox`)."""
    publish_inbox_events(tenant_id, [frame])


def current_inbox_counts_frame(conn: psycopg.Connection[Any], tenant_id: UUID) -> InboxCountsFrame:
    """The `inbox_counts` frame of the tenant's inbox now (one read of the counts' ledger)."""
    return inbox_counts_frame_of(sum_by_key(conn, tenant_id=tenant_id))


@_never_raises
def publish_inbox_events(tenant_id: UUID, frames: Sequence[InboxFrame], *, counts_moved: bool = False) -> None:
    """Push frames, in order, to every subscriber of the tenant's inbox feed. With `counts_moved` (the change
    moved the inbox counts), the `inbox_counts` frame follows them, read from the counts ledger (one small sum,
    migration 0014) in the transaction that finds the subscribers, and only when there are any."""
    if not frames and not counts_moved:
        return

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        subscribers = find_subscribers(conn, tenant_id=tenant_id, topic="inbox", topic_ids=[INBOX_TOPIC_ID])
        if not subscribers:
            return None
        delivery = _Delivery()
        feed = [*frames, current_inbox_counts_frame(conn, tenant_id)] if counts_moved else frames
        for subscriber in subscribers:
            for frame in feed:
                delivery.add(subscriber.connection_id, frame)
        return delivery

    _publish(tenant_id, plan)


@_never_raises
def publish_ingested_messages(tenant_id: UUID, conversations: Sequence[IngestedConversation]) -> None:
    """Push what an ingest stored. The new messages are read back (one more query) only when some conversation
    that received any has a subscriber."""
    added: dict[int, IngestedConversation] = {}
    for conversation in conversations:
        if conversation.messages_added > 0:
            # A conversation named twice in one request: one result, the ids of both.
            earlier = added.get(conversation.conversation_id)
            ids = [*earlier.message_external_ids, *conversation.message_external_ids] if earlier else None
            added[conversation.conversation_id] = (
                replace(conversation, message_external_ids=ids) if ids else conversation
            )
    if not added:
        return

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        subscribers = find_subscribers(
            conn, tenant_id=tenant_id, topic="conversation", topic_ids=[str(c) for c in sorted(added)]
        )
        if not subscribers:
            return None
        watched = [added[int(s.topic_id)] for s in {s.topic_id: s for s in subscribers}.values()]
        to_load = [c for c in watched if c.messages_added <= MAX_MESSAGES_PUSHED_PER_CONVERSATION]
        messages = _load_new_messages(conn, tenant_id, to_load) if to_load else []
        events = [
            conversation_resync_event(c.conversation_id, c.messages_added)
            for c in watched
            if c.messages_added > MAX_MESSAGES_PUSHED_PER_CONVERSATION
        ]
        events += [conversation_message_event("created", message) for message in messages]
        return _deliver_in_order(subscribers, events)

    _publish(tenant_id, plan)


@_never_raises
def publish_message_event(tenant_id: UUID, kind: MessageEventKind, message: RealtimeMessage) -> None:
    """One message's event: `created`, `status` (its delivery status moved) or `updated`."""
    publish_conversation_events(tenant_id, [conversation_message_event(kind, message)])


@_never_raises
def publish_stored_messages(
    tenant_id: UUID,
    kind: MessageEventKind,
    message_ids: Sequence[int],
    *,
    message_extras: Mapping[int, Mapping[str, Any]] | None = None,
) -> None:
    """An event for each of these stored messages, read back in the same query that finds their subscribers (for
    writers that know only the ids they wrote, e.g. Meta's webhooks: `created` for inbound messages, `status` for
    delivery statuses). `message_extras` adds keys to a frame's `message` (the copy step's `attachments`, with the
    stored medium's presigned URL)."""
    if not message_ids:
        return

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        found = find_subscribed_messages(conn, tenant_id=tenant_id, message_ids=sorted(set(message_ids)))
        if not found:
            return None
        delivery = _Delivery()
        for subscribed in found:
            frame = conversation_message_event(kind, subscribed.message).frame
            extra = (message_extras or {}).get(subscribed.message.id)
            if extra and isinstance(frame, ConversationMessageFrame):
                frame = frame.model_copy(update={"message": frame.message.model_copy(update=dict(extra))})
            delivery.add(subscribed.connection_id, frame)
        return delivery

    _publish(tenant_id, plan)


@_never_raises
def publish_reactions(tenant_id: UUID, message_ids: Sequence[int]) -> None:
    """A `message_reactions` frame for each of these messages, to its conversation's subscribers: the message's
    reactions as they are now, read in the query that finds the subscribers."""
    if not message_ids:
        return

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        found = find_subscribed_reactions(conn, tenant_id=tenant_id, message_ids=sorted(set(message_ids)))
        if not found:
            return None
        delivery = _Delivery()
        frames: dict[int, PushedFrame] = {}
        for subscribed in found:
            frame = frames.get(subscribed.message_id)
            if frame is None:
                event = message_reactions_event(subscribed.conversation_id, subscribed.message_id, subscribed.reactions)
                frame = frames[subscribed.message_id] = event.frame
            delivery.add(subscribed.connection_id, frame)
        return delivery

    _publish(tenant_id, plan)


@_never_raises
def publish_window_expiries(tenant_id: UUID, windows: Sequence[ExpiredWindow]) -> None:
    """Tell the subscribers of each of these conversations that its reply window closed."""
    if not windows:
        return
    by_conversation = {window.conversation_id: window for window in windows}

    def plan(conn: psycopg.Connection[Any]) -> _Delivery | None:
        subscribers = find_window_subscribers(conn, tenant_id=tenant_id, conversation_ids=sorted(by_conversation))
        if not subscribers:
            return None
        delivery = _Delivery()
        for subscriber in subscribers:
            window = by_conversation[subscriber.conversation_id]
            event = window_expired_event(window.conversation_id, window.contact_id, window.window_expires_at)
            delivery.add(subscriber.connection_id, event.frame)
        return delivery

    _publish(tenant_id, plan)


# ---------------------------------------------------------------------------------------------------------------
# How.
# ---------------------------------------------------------------------------------------------------------------


def _load_new_messages(
    conn: psycopg.Connection[Any], tenant_id: UUID, conversations: Sequence[IngestedConversation]
) -> list[RealtimeMessage]:
    conversation_ids: list[int] = []
    external_ids: list[str] = []
    for conversation in conversations:
        conversation_ids += [conversation.conversation_id] * len(conversation.message_external_ids)
        external_ids += conversation.message_external_ids
    return find_newly_stored_messages(
        conn,
        tenant_id=tenant_id,
        conversation_ids=conversation_ids,
        external_ids=external_ids,
        added_counts={c.conversation_id: c.messages_added for c in conversations},
    )


def _deliver_in_order(subscribers: Sequence[Subscriber], events: Sequence[ConversationEvent]) -> _Delivery:
    followers: dict[str, list[str]] = defaultdict(list)
    for subscriber in subscribers:
        followers[subscriber.topic_id].append(subscriber.connection_id)
    delivery = _Delivery()
    for event in events:
        for connection_id in followers.get(str(event.conversation_id), ()):
            delivery.add(connection_id, event.frame)
    return delivery


def _stamp_seqs(conn: psycopg.Connection[Any], tenant_id: UUID, delivery: _Delivery) -> None:
    """Look up the seq of the event each frame shows (its model says which: PushedFrame.shows)."""
    shown = [(frame, event) for frame in delivery.distinct_frames() if (event := frame.shows()) is not None]
    keys = [FrameEventKey(e.conversation_id, e.types, e.match_key, e.match_value) for _, e in shown]
    for (frame, _), seq in zip(shown, find_frame_seqs(conn, tenant_id=tenant_id, keys=keys), strict=True):
        delivery.seqs[id(frame)] = seq


def _publish(tenant_id: UUID, plan: Callable[[psycopg.Connection[Any]], _Delivery | None]) -> None:
    endpoint = management_url()
    if endpoint is None:
        return

    def plan_and_stamp(conn: psycopg.Connection[Any]) -> _Delivery | None:
        delivery = plan(conn)
        if delivery is not None and delivery.frames:
            _stamp_seqs(conn, tenant_id, delivery)
        return delivery

    delivery = run_in_transaction(plan_and_stamp, tenant_id=tenant_id)
    if delivery is None or not delivery.frames:
        return
    outcome = _post_all(_management_client(endpoint), delivery)
    if outcome.gone:
        run_in_transaction(lambda conn: delete_connections(conn, outcome.gone), tenant_id=tenant_id)
    metrics.add_metric(name="RealtimeFramesPosted", unit=MetricUnit.Count, value=outcome.posted)
    if outcome.gone:
        metrics.add_metric(name="RealtimeConnectionsGone", unit=MetricUnit.Count, value=len(outcome.gone))
    if outcome.failed:
        metrics.add_metric(name="RealtimePostFailures", unit=MetricUnit.Count, value=outcome.failed)


def _post_all(client: Any, delivery: _Delivery) -> _Outcome:
    encoded = delivery.encoded()
    work = list(encoded.items())
    if len(work) == 1:
        results = [_post_to_connection(client, *work[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor  # only when there is more than one subscriber

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_POSTS, len(work))) as pool:
            results = list(pool.map(lambda item: _post_to_connection(client, *item), work))
    outcome = _Outcome()
    for connection_id, (posted, failed, gone) in zip(encoded, results, strict=True):
        outcome.posted += posted
        outcome.failed += failed
        if gone:
            outcome.gone.append(connection_id)
    return outcome


def _post_to_connection(client: Any, connection_id: str, frames: list[bytes]) -> tuple[int, int, bool]:
    """Post one connection's frames in order; stop at the first failure (later frames would arrive out of order or
    not at all). Returns (posted, failed, gone)."""
    from botocore.exceptions import BotoCoreError, ClientError

    posted = 0
    for frame in frames:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=frame)
        except ClientError as error:
            gone = _is_gone(error)
            if not gone:
                logger.warning(
                    "post_to_connection refused",
                    extra={"connection_id": connection_id, "error": error.response.get("Error", {}).get("Code")},
                )
            return posted, 0 if gone else len(frames) - posted, gone
        except BotoCoreError as error:
            logger.warning(
                "post_to_connection failed", extra={"connection_id": connection_id, "error": type(error).__name__}
            )
            return posted, len(frames) - posted, False
        posted += 1
    return posted, 0, False


def _is_gone(error: Any) -> bool:
    response = error.response
    return (
        response.get("Error", {}).get("Code") == "GoneException"
        or response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410
    )
