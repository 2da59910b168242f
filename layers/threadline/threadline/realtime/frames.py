"""The frames a WebSocket subscriber receives: one JSON object per frame, told apart by `type`, keys in camelCase.

Pushed by the publishers (after the write that caused them committed); each pushed frame also carries `"seq"`, the
event-log seq of the event it shows (null when none: see threadline.realtime.publisher):

    {"type": "session_message", "sessionUuid": "wses_...", "message": {...}}
        A chat-session message was captured; `message` is the session message as the capture API returns it.
    {"type": "conversation_message", "conversationId": 123, "event": "created" | "status" | "updated",
     "message": {"id", "conversationId", "externalId", "direction", "type", "content", "mediaUrl", "status",
                 "source", "sentAt", "createdAt", "error": null | {"code", "title"}, "private"}}
        created: a new message (ingested, received by webhook, an agent's send, which starts as `pending`, or
                 an agent's private note: `private: true`, source "note", shown to agents only);
        status:  its delivery status moved (sent, delivered, read, failed);
        updated: anything else about it changed (e.g. Meta did not confirm a send: `error.title` says so).
    {"type": "message_reactions", "conversationId": 123, "messageId": 456,
     "reactions": [{"emoji": "👍", "by": {"type": "customer" | "agent", "id": "...", "name": "..."},
                    "at": "2026-02-01T10:30:00.000Z"}]}
        A message's reactions changed (the customer's, from WhatsApp, or an agent's): `reactions` is the message's
        whole list now, as both message views show it (a removed one is left out).
    {"type": "conversation_resync", "conversationId": 123, "messagesAdded": 240}
        More messages arrived at once than are pushed one by one (a connector's backfill): reload the timeline.
    {"type": "conversation_updated", "conversationId": 123, "changes": {"status": "resolved", ...},
     "by": {"id": "...", "name": "Ana"} | null, "version": 4}
        An agent (or the system, `by` null) changed the conversation (status, snooze, assignee, team, priority,
        labels); `changes` holds the new values, `version` the new ETag version.
    {"type": "conversation_window", "conversationId": 123, "contactId": "...", "windowStatus": "expired",
     "windowExpiresAt": "2026-02-02T10:30:00.000Z"}
        The contact's 24-hour WhatsApp window closed: free-form replies are refused until the customer writes again.

    `conversation_updated` changes, by field (the PATCH body's names; ids with the object they name):
        "status": "open" | "pending" | "snoozed" | "resolved", "snoozed_until": timestamp | null,
        "assignee_id": uuid | null with "assignee": {"id", "name", "avatar_url"} | null,
        "team_id": uuid | null with "team": {"id", "name"} | null, "priority": "low" | ... | "urgent" | null.
    The system's own changes have `by` null: a customer's message re-opening a resolved or snoozed conversation,
    a snooze ending at snoozed_until, auto-assignment. Each change also writes an activity message, pushed as a
    `conversation_message` (created) with source "activity".

To the subscribers of the tenant's inbox feed (`subscribe_inbox`), for every conversation of the tenant:

    {"type": "inbox_conversation", "event": "created" | "updated" | "assigned" | "reopened", "conversationId": 123,
     "changes": {...}, "by": {"id", "name"} | null, "version": 4}
        created:  a new conversation (ingest or Meta's webhook); changes {"status": "open"}.
        assigned: its assignee changed (by an agent, or auto-assignment with `by` null).
        reopened: it went back to open from resolved or snoozed (the customer wrote, its snooze ended, an agent).
        updated:  anything else (status, snooze, team, priority); `changes` as in conversation_updated.
    {"type": "inbox_counts", "counts": {"open": {"all": 12, "unassigned": 3, "assignees": {"<agent id>": 4, ...},
                                                "teams": {"<team id>": {"all": 5, "unassigned": 1}, ...}},
                                       "pending": {...}, "snoozed": {...}, "resolved": {...}}}
        On the same feed, after a change that moved the inbox counts (a conversation created, or changed in
        status, assignee or team), following that change's inbox_conversation frames: every status, each with its
        total, its unassigned share, and each agent's and team's share (zeros left out), so each agent reads its
        own "mine" from the same frame. The same numbers as GET /v1/conversations/counts, exact when read.

Answers to a client's own actions:

    {"type": "subscribed" | "unsubscribed", "topic": "conversation", "conversationId": 123}
    {"type": "subscribed" | "unsubscribed", "topic": "session", "sessionUuid": "wses_..."}
    {"type": "subscribed" | "unsubscribed", "topic": "inbox"}
    {"type": "error", "error": "Conversation not found", "action": "subscribe_conversation"}

Timestamps are ISO 8601 in UTC with milliseconds and a `Z`, as the session API writes them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from threadline.caller import Actor
from threadline.db.repositories.inbox_counts import KeyCountRow
from threadline.db.repositories.realtime import RealtimeMessage
from threadline.models.timestamps import js_timestamp
from threadline.vocabulary import CONVERSATION_STATUSES, InboxEventKind, Topic

if TYPE_CHECKING:  # the send path's module, needed at runtime only by the send path, which has imported it
    from threadline.db.repositories.sending import OutboundMessageRow

MessageEventKind = Literal["created", "status", "updated"]


@dataclass(frozen=True)
class ConversationEvent:
    """A frame for the subscribers of one conversation."""

    conversation_id: int
    frame: dict[str, Any]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return js_timestamp(value)
    if isinstance(value, date | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_frame(frame: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON; datetimes become the frames' timestamps, so callers may hand over rows as they read them."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode("utf-8")


def session_message_frame(session_uuid: str, message: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "session_message", "sessionUuid": session_uuid, "message": dict(message)}


def message_json(message: RealtimeMessage) -> dict[str, Any]:
    error = None
    if message.status == "failed" or message.error_title is not None:
        error = {"code": message.error_code, "title": message.error_title}
    return {
        "id": message.id,
        "conversationId": message.conversation_id,
        "externalId": message.external_id,
        "direction": message.direction,
        "type": message.type,
        "content": message.content,
        "mediaUrl": message.media_url,
        "status": message.status,
        "source": message.source,
        "sentAt": js_timestamp(message.sent_at),
        "createdAt": js_timestamp(message.created_at),
        "error": error,
        "private": message.is_private,
    }


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
        frame={
            "type": "conversation_message",
            "conversationId": message.conversation_id,
            "event": kind,
            "message": message_json(message),
        },
    )


def message_reactions_event(
    conversation_id: int, message_id: int, reactions: Iterable[Mapping[str, Any]]
) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame={
            "type": "message_reactions",
            "conversationId": conversation_id,
            "messageId": message_id,
            "reactions": [
                {"emoji": reaction["emoji"], "by": dict(reaction["by"]), "at": _frame_time(reaction["at"])}
                for reaction in reactions
            ],
        },
    )


def _frame_time(value: Any) -> str:
    """A timestamp as frames write them, from a datetime or the ISO text PostgreSQL's JSON holds."""
    return js_timestamp(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def conversation_resync_event(conversation_id: int, messages_added: int) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame={"type": "conversation_resync", "conversationId": conversation_id, "messagesAdded": messages_added},
    )


def window_expired_event(conversation_id: int, contact_id: UUID, window_expires_at: datetime) -> ConversationEvent:
    return ConversationEvent(
        conversation_id=conversation_id,
        frame={
            "type": "conversation_window",
            "conversationId": conversation_id,
            "contactId": str(contact_id),
            "windowStatus": "expired",
            "windowExpiresAt": js_timestamp(window_expires_at),
        },
    )


def conversation_updated_event(
    conversation_id: int, changes: Mapping[str, Any], by: Actor | None, version: int
) -> ConversationEvent:
    """An agent (or the system, `by` None) changed the conversation: `changes` holds each changed field's new
    value, `version` the conversation's new version (its ETag)."""
    return ConversationEvent(
        conversation_id=conversation_id,
        frame={
            "type": "conversation_updated",
            "conversationId": conversation_id,
            "changes": dict(changes),
            "by": {"id": str(by.id), "name": by.name} if by is not None else None,
            "version": version,
        },
    )


def inbox_counts_frame(by_status: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The inbox feed's counts frame: every status is present (zeros included), so a client can replace what it
    shows instead of merging."""
    counts: dict[str, Any] = {}
    for status in CONVERSATION_STATUSES:
        found = by_status.get(status)
        counts[status] = {
            "all": found["all"] if found else 0,
            "unassigned": found["unassigned"] if found else 0,
            "assignees": dict(found["assignees"]) if found else {},
            "teams": {team: dict(numbers) for team, numbers in found["teams"].items()} if found else {},
        }
    return {"type": "inbox_counts", "counts": counts}


def inbox_conversation_frame(
    kind: InboxEventKind, conversation_id: int, changes: Mapping[str, Any], by: Actor | None, version: int
) -> dict[str, Any]:
    """The tenant-wide inbox feed's frame for a conversation change."""
    return {
        "type": "inbox_conversation",
        "event": kind,
        "conversationId": conversation_id,
        "changes": dict(changes),
        "by": {"id": str(by.id), "name": by.name} if by is not None else None,
        "version": version,
    }


def subscription_frame(kind: Literal["subscribed", "unsubscribed"], topic: Topic, topic_id: str) -> dict[str, Any]:
    if topic == "inbox":
        return {"type": kind, "topic": topic}
    if topic == "conversation":
        return {"type": kind, "topic": topic, "conversationId": int(topic_id)}
    return {"type": kind, "topic": topic, "sessionUuid": topic_id}


def error_frame(message: str, action: str | None = None) -> dict[str, Any]:
    return {"type": "error", "error": message, "action": action}


def inbox_counts_frame_of(rows: Iterable[KeyCountRow]) -> dict[str, Any]:
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
            counts["assignees"][str(row.assignee_id)] += row.count
        if row.team_id is not None:
            team = counts["teams"].setdefault(str(row.team_id), {"all": 0, "unassigned": 0})
            team["all"] += row.count
            if row.assignee_id is None:
                team["unassigned"] += row.count
    return inbox_counts_frame(by_status)
