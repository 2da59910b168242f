"""Building the frames a WebSocket subscriber receives, and encoding them for the wire.

What each frame says is its model's (threadline.models.frames, one per `type`); docs/websocket.md describes them,
its field tables generated from those models.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from threadline.caller import Actor
from threadline.db.repositories.inbox_counts import KeyCountRow
from threadline.db.repositories.realtime import RealtimeMessage
from threadline.models.frames import (
    ConversationChanges,
    ConversationFrame,
    ConversationMessageFrame,
    ConversationResyncFrame,
    ConversationSubscriptionFrame,
    ConversationUpdatedFrame,
    ConversationWindowFrame,
    ErrorFrame,
    Frame,
    FrameActor,
    FrameMessage,
    FrameMessageError,
    FrameReaction,
    FrameReactionAuthor,
    InboxConversationFrame,
    InboxCountsByStatus,
    InboxCountsFrame,
    InboxSubscriptionFrame,
    MessageEventKind,
    MessageReactionsFrame,
    SessionFrameMessage,
    SessionMessageFrame,
    SessionSubscriptionFrame,
    StatusCounts,
    SubscriptionFrame,
    SubscriptionKind,
    TeamCounts,
)
from threadline.vocabulary import CONVERSATION_STATUSES, Direction, InboxEventKind, MessageStatus, Topic

if TYPE_CHECKING:  # the send path's module, needed at runtime only by the send path, which has imported it
    from threadline.db.repositories.sending import OutboundMessageRow


@dataclass(frozen=True)
class ConversationEvent:
    """A frame for the subscribers of one conversation."""

    conversation_id: int
    frame: ConversationFrame


def encode_frame(frame: Frame) -> bytes:
    """A pushed frame as posted: compact UTF-8 JSON (json.dumps, not pydantic's encoder: numbers inside a session
    message's metadata keep the spelling they always had)."""
    return json.dumps(frame.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_answer(frame: Frame) -> str:
    """An answer frame as the WebSocket route responds with it (json.dumps' defaults, as always)."""
    return json.dumps(frame.model_dump(mode="json"))


def session_message_frame(session_uuid: str, message: SessionFrameMessage) -> SessionMessageFrame:
    return SessionMessageFrame(sessionUuid=session_uuid, message=message)


def frame_message(message: RealtimeMessage) -> FrameMessage:
    error = None
    if message.status == "failed" or message.error_title is not None:
        error = FrameMessageError(code=message.error_code, title=message.error_title)
    return FrameMessage(
        id=message.id,
        conversationId=message.conversation_id,
        externalId=message.external_id,
        # The database's CHECK constraints hold both columns to the vocabulary (tests/integration/test_vocabulary.py).
        direction=cast(Direction, message.direction),
        type=message.type,
        content=message.content,
        mediaUrl=message.media_url,
        status=cast(MessageStatus, message.status),
        source=message.source,
        sentAt=message.sent_at,
        createdAt=message.created_at,
        error=error,
        private=message.is_private,
    )


def outbound_message(row: OutboundMessageRow) -> RealtimeMessage:
    """The send path's row, seen as frames show messages."""
    return RealtimeMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        external_id=row.external_id,
        direction="outbound",
        type=row.type,
        content=row.content,
        media_url=row.media_url,
        status=row.status,
        source=row.source,
        sent_at=row.sent_at,
        created_at=row.created_at,
        error_code=row.error_code,
        error_title=row.error_title,
    )


def conversation_message_event(kind: MessageEventKind, message: RealtimeMessage) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=message.conversation_id,
        frame=ConversationMessageFrame(
            conversationId=message.conversation_id, event=kind, message=frame_message(message)
        ),
    )


def message_reactions_event(
    conversation_id: int, message_id: int, reactions: Iterable[Mapping[str, Any]]
) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame=MessageReactionsFrame(
            conversationId=conversation_id,
            messageId=message_id,
            reactions=[
                FrameReaction(
                    emoji=reaction["emoji"], by=FrameReactionAuthor(**reaction["by"]), at=_frame_time(reaction["at"])
                )
                for reaction in reactions
            ],
        ),
    )


def _frame_time(value: Any) -> datetime:
    """A reaction's time, from a datetime or the ISO text PostgreSQL's JSON holds (frames write it as JsTimestamp)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def conversation_resync_event(conversation_id: int, messages_added: int) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame=ConversationResyncFrame(conversationId=conversation_id, messagesAdded=messages_added),
    )


def window_expired_event(conversation_id: int, contact_id: UUID, window_expires_at: datetime) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame=ConversationWindowFrame(
            conversationId=conversation_id,
            contactId=contact_id,
            windowStatus="expired",
            windowExpiresAt=window_expires_at,
        ),
    )


def _actor(by: Actor | None) -> FrameActor | None:
    return FrameActor(id=by.id, name=by.name) if by is not None else None


def conversation_updated_event(
    conversation_id: int, changes: ConversationChanges, by: Actor | None, version: int
) -> ConversationEvent:
    """An agent (or the system, `by` None) changed the conversation: `changes` holds each changed field's new
    value, `version` the conversation's new version (its ETag)."""
    return ConversationEvent(
        conversation_id=conversation_id,
        frame=ConversationUpdatedFrame(conversationId=conversation_id, changes=changes, by=_actor(by), version=version),
    )


def inbox_conversation_frame(
    kind: InboxEventKind, conversation_id: int, changes: ConversationChanges, by: Actor | None, version: int
) -> InboxConversationFrame:
    """The tenant-wide inbox feed's frame for a conversation change."""
    return InboxConversationFrame(
        event=kind, conversationId=conversation_id, changes=changes, by=_actor(by), version=version
    )


def inbox_counts_frame(by_status: Mapping[str, Mapping[str, Any]]) -> InboxCountsFrame:
    """The inbox feed's counts frame: every status is present (zeros included), so a client can replace what it
    shows instead of merging."""
    counts: dict[str, StatusCounts] = {}
    for status in CONVERSATION_STATUSES:
        found = by_status.get(status)
        counts[status] = StatusCounts(
            all=found["all"] if found else 0,
            unassigned=found["unassigned"] if found else 0,
            assignees=dict(found["assignees"]) if found else {},
            teams={team: TeamCounts(**numbers) for team, numbers in found["teams"].items()} if found else {},
        )
    return InboxCountsFrame(counts=InboxCountsByStatus(**counts))


def inbox_counts_frame_of(rows: Iterable[KeyCountRow]) -> InboxCountsFrame:
    """The `inbox_counts` frame of the tenant's summed ledger rows (threadline.db.repositories.inbox_counts
    `sum_by_key`): every status, with each agent's and each team's share, so every subscriber (each agent with its
    own "mine") reads its numbers from the one frame."""
    by_status: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"all": 0, "unassigned": 0, "assignees": defaultdict(int), "teams": {}}
    )
    for row in rows:
        counts = by_status[row.status]
        counts["all"] += row.count
        if row.assignee_id is None:
            counts["unassigned"] += row.count
        else:
            counts["assignees"][row.assignee_id] += row.count
        if row.team_id is not None:
            team = counts["teams"].setdefault(row.team_id, {"all": 0, "unassigned": 0})
            team["all"] += row.count
            if row.assignee_id is None:
                team["unassigned"] += row.count
    return inbox_counts_frame(by_status)


def subscription_frame(kind: SubscriptionKind, topic: Topic, topic_id: str) -> SubscriptionFrame:
    if topic == "inbox":
        return InboxSubscriptionFrame(type=kind)
    if topic == "conversation":
        return ConversationSubscriptionFrame(type=kind, conversationId=int(topic_id))
    return SessionSubscriptionFrame(type=kind, sessionUuid=topic_id)


def error_frame(message: str, action: str | None = None) -> ErrorFrame:
    return ErrorFrame(error=message, action=action)
