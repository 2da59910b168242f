"""The small vocabularies every layer speaks, written once: models validate against them, repositories type
their columns with them, the CLI offers them, and a test holds the database's CHECK constraints to them."""

from __future__ import annotations

from typing import Literal, get_args

# The channels connectors push from. Workspace chat sessions are stored as conversations too, on the internal
# platform "workspace", which no connector may claim.
Platform = Literal["whatsapp", "signal", "telegram", "wechat"]
PLATFORMS: tuple[Platform, ...] = get_args(Platform)
WORKSPACE_PLATFORM = "workspace"

Direction = Literal["inbound", "outbound"]
SortOrder = Literal["asc", "desc"]

# Media a WhatsApp send may carry (Meta's own names; Threadline stores `document` as the message type `file`).
MediaType = Literal["image", "document", "audio", "video"]

# A message's delivery status: inbound messages are `received`; outbound ones move pending -> sent -> delivered
# -> read, or end `failed`.
MessageStatus = Literal["received", "pending", "sent", "delivered", "read", "failed"]
MESSAGE_STATUSES: tuple[MessageStatus, ...] = get_args(MessageStatus)
# The statuses Meta's webhook reports that Threadline tracks (others, e.g. a voice message `played`, are ignored).
TRACKED_STATUSES: frozenset[MessageStatus] = frozenset({"sent", "delivered", "read", "failed"})
# Meta accepted the message: it went out.
SENT_STATUSES: frozenset[MessageStatus] = frozenset({"sent", "delivered", "read"})

# A conversation's lifecycle: `pending` waits on the customer (or a bot), `snoozed` sleeps until a time or the
# customer's next message, `resolved` is done (a new inbound message re-opens it).
ConversationStatus = Literal["open", "pending", "snoozed", "resolved"]
CONVERSATION_STATUSES: tuple[ConversationStatus, ...] = get_args(ConversationStatus)

# What a WebSocket subscription is to: one session, one conversation, or the tenant's whole inbox.
Topic = Literal["session", "conversation", "inbox"]
TOPICS: tuple[Topic, ...] = get_args(Topic)

# Whether an agent takes new conversations now: auto-assignment hands work to `online` agents only.
Availability = Literal["online", "busy", "offline"]
AVAILABILITIES: tuple[Availability, ...] = get_args(Availability)

# How urgent a conversation is (null = not set). The priority sort puts urgent first and unset last.
Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)

# When Threadline marks a customer's WhatsApp messages read at Meta (the blue ticks): never; when an agent marks
# the conversation read (or replies, which reads it too); only when an agent replies.
ReadReceipts = Literal["never", "on_read", "on_reply"]
READ_RECEIPTS: tuple[ReadReceipts, ...] = get_args(ReadReceipts)

# The statuses that make up an agent's load: `open` needs them, `pending` waits on the customer but is still
# theirs to follow up. Snoozed and resolved conversations do not count against the auto-assignment cap.
LOAD_STATUSES: tuple[ConversationStatus, ...] = ("open", "pending")

# What happened to a conversation, as the tenant-wide inbox feed says it.
InboxEventKind = Literal["created", "updated", "assigned", "reopened"]

# The conversation list's orders: newest activity first; oldest waiting first (conversations nobody waits on
# last); priority (urgent first), then newest activity.
ConversationSort = Literal["last_activity", "waiting_since", "priority"]
CONVERSATION_SORTS: tuple[ConversationSort, ...] = get_args(ConversationSort)

# What a search looks through.
SearchType = Literal["messages", "contacts", "conversations"]
SEARCH_TYPES: tuple[SearchType, ...] = get_args(SearchType)

# How much of a conversation's newest message its list row previews (last_message_preview, held to it by the
# conversations_last_message_preview_check constraint); every inbound writer (ingest, Meta's webhook) cuts to it.
PREVIEW_CHARS = 100
# How much of a quoted message both message views show (`reply_to.content`).
QUOTED_CHARS = 200

# What the event log records (docs/events.md describes each one's `data`). Table-shaped changes are appended by the
# database's triggers (migration 0015), so every writer is covered; window.closed by the expiry job.
EventType = Literal[
    "message.created",
    "message.status_changed",
    "message.updated",
    # A message's reactions changed (migration 0034): the customer's from their channel, or an agent's.
    "message.reactions_changed",
    # A connector's synced copy of an agent's reply folded into the reply (migration 0020): one message remains.
    "message.deleted",
    "note.created",
    "conversation.created",
    "conversation.updated",
    "conversation.assigned",
    "conversation.labels_changed",
    "window.opened",
    "window.closed",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

# A delivery (threadline.delivery.dispatcher): pending until a target answers 2xx (delivered), or given up (dead:
# 24 hours of retries, a 410, a disabled target); dead ones can be redelivered.
DeliveryStatus = Literal["pending", "delivered", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
# Who receives deliveries: a webhook subscription, or a connection's outbound_url (connector callbacks).
DeliveryTargetKind = Literal["webhook", "connection"]
DELIVERY_TARGET_KINDS: tuple[DeliveryTargetKind, ...] = get_args(DeliveryTargetKind)

# Threadline's own external ids start so; a channel's id (a connector's platform id) replaces one once known.
THREADLINE_EXTERNAL_ID_PREFIX = "tl_"
