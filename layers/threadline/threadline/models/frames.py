"""The frames the WebSocket API sends: one model per frame type, told apart by `type` (`ServerFrame`).

Field names are the wire's own (camelCase, as the workspace session API's clients expect; a `changes` object keeps
the PATCH body's snake_case names), and every model forbids extra fields, so a frame that says something its model
does not is a bug a test finds (tests/support/contracts.py). docs/websocket.md's field tables are generated from these
models (`make docs`). threadline.realtime.frames builds them, threadline.realtime.publisher pushes them.

Imports pydantic and the small vocabulary modules only: every function that publishes loads this at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, with_config
from typing_extensions import TypedDict

from threadline.models.attachments import Attachment
from threadline.models.timestamps import JsTimestamp
from threadline.vocabulary import ConversationStatus, Direction, EventType, InboxEventKind, MessageStatus, Priority

MessageEventKind = Literal["created", "status", "updated"]


@dataclass(frozen=True)
class ShownEvent:
    """Which event of the log a pushed frame shows (its `seq` is that event's): the newest event of one of `types`
    in `conversation_id` (None: among the tenant's newest of any conversation) whose data holds `match_value` under
    `match_key` (None: the newest of those types)."""

    conversation_id: int | None
    types: tuple[EventType, ...]
    match_key: str | None = None
    match_value: str | None = None


class Frame(BaseModel):
    """What every frame is: immutable, nothing beyond its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PushedFrame(Frame):
    """A frame pushed to subscribers after a write committed. Each carries `seq` (declared last in each model, so
    it stays the last key on the wire)."""

    def shows(self) -> ShownEvent | None:
        """The event of the log this frame shows, if any."""
        return None


ConversationId = Annotated[int, Field(description="Threadline's id of the conversation")]
Seq = Annotated[
    int | None,
    Field(description="the seq of the [event log](events.md) event it shows; null when that event is no longer kept"),
]


# ---------------------------------------------------------------------------------------------------------------
# Pushed to a session's subscribers
# ---------------------------------------------------------------------------------------------------------------
class SessionFrameMessage(Frame):
    """The captured message, as the workspace session API's frames carry it."""

    id: str = Field(description="the message's id, as a string")
    role: Literal["user", "assistant"]
    content: str
    metadata: dict[str, Any] = Field(description="what the capture was sent with (`{}` when none)")
    createdAt: JsTimestamp


class SessionMessageFrame(PushedFrame):
    """A message was captured in a subscribed chat session: by either capture route or as the model's reply (see
    the [session messages API](session-messages-api.md))."""

    type: Literal["session_message"] = "session_message"
    sessionUuid: str = Field(description="the session's id (`wses_…`), however it was subscribed to")
    message: SessionFrameMessage
    seq: Seq = None

    def shows(self) -> ShownEvent:
        return ShownEvent(None, ("message.created",), "message_id", self.message.id)


# ---------------------------------------------------------------------------------------------------------------
# Pushed to a conversation's subscribers
# ---------------------------------------------------------------------------------------------------------------
class FrameMessageError(Frame):
    """Why the message failed, or what is uncertain about it."""

    code: int | None = Field(description="the channel's error code (Meta's), when it gave one")
    title: str | None = Field(description="what went wrong, e.g. that Meta did not confirm a send")


class FrameMessage(Frame):
    """A message as conversation frames show it."""

    id: int = Field(description="Threadline's message id")
    conversationId: ConversationId
    externalId: str = Field(description="the channel's id of the message (the ingest dedupe key)")
    direction: Direction
    type: str = Field(description="`text`, `image`, `audio`, `video`, `file`, `location` or `template`")
    content: str
    mediaUrl: str | None
    status: MessageStatus = Field(
        description="inbound messages are `received`; outbound ones move `pending` → `sent` → `delivered` → "
        "`read`, or end `failed`"
    )
    source: str = Field(
        description="where it came from: `ingest` (a connector), `whatsapp_webhook` (Meta's notifications), "
        "`manual_ui` (an agent's send), `note` (a private note), `activity` (an activity message such as \"Resolved "
        'by Ana"), `workspace_api` (a session capture)'
    )
    sentAt: JsTimestamp
    createdAt: JsTimestamp = Field(description="when Threadline stored it")
    error: FrameMessageError | None = Field(
        description="set when the message failed or its channel did not confirm it, else null"
    )
    private: bool = Field(description="an agent's private note: shown to agents only, never sent to the customer")
    attachments: list[Attachment] | None = Field(
        default=None,
        description="only on the `updated` frame of a kept medium that was just copied (or failed): the medium as "
        "the message views list it, with its presigned URL; absent from every other frame",
    )

    @model_serializer(mode="wrap")
    def _attachments_only_when_given(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = serialize(self)
        if data.get("attachments") is None:
            data.pop("attachments", None)
        return data


class ConversationMessageFrame(PushedFrame):
    """A message of a subscribed conversation was stored or changed."""

    # The log's event types each `event` shows.
    EVENT_TYPES: ClassVar[dict[MessageEventKind, tuple[EventType, ...]]] = {
        "created": ("message.created", "note.created"),
        "status": ("message.status_changed",),
        "updated": ("message.updated", "message.status_changed"),
    }

    type: Literal["conversation_message"] = "conversation_message"
    conversationId: ConversationId
    event: MessageEventKind = Field(
        description="`created`: a new message (ingested, from Meta's notifications, an agent's send, which appears "
        "first as `pending`, a private note, an activity message); `status`: its delivery status moved; `updated`: "
        "anything else changed (e.g. Meta did not confirm a send: `error.title` says so)"
    )
    message: FrameMessage
    seq: Seq = None

    def shows(self) -> ShownEvent:
        return ShownEvent(self.conversationId, self.EVENT_TYPES[self.event], "message_id", str(self.message.id))


class FrameReactionAuthor(Frame):
    """Who reacted: the customer, or the business (an agent, or the tenant for a service token)."""

    type: Literal["customer", "agent"]
    id: str | None = Field(description="the customer's contact id, or the agent's user id (the tenant's when unknown)")
    name: str | None


class FrameReaction(Frame):
    emoji: str
    by: FrameReactionAuthor
    at: JsTimestamp = Field(description="when it was given")


class MessageReactionsFrame(PushedFrame):
    """A message's reactions changed (the customer's, from WhatsApp, or an agent's): `reactions` is the message's
    whole list now, as both message views show it (a removed one is left out)."""

    type: Literal["message_reactions"] = "message_reactions"
    conversationId: ConversationId
    messageId: int = Field(description="the message reacted to")
    reactions: list[FrameReaction] = Field(description="one per side (the customer's, the business's), oldest first")
    seq: Seq = None

    def shows(self) -> ShownEvent:
        return ShownEvent(self.conversationId, ("message.reactions_changed",), "message_id", str(self.messageId))


class ConversationResyncFrame(PushedFrame):
    """More messages arrived in one write than are pushed one by one (a connector's backfill of more than 25):
    reload the conversation's timeline."""

    type: Literal["conversation_resync"] = "conversation_resync"
    conversationId: ConversationId
    messagesAdded: int = Field(description="how many messages the write added")
    seq: Seq = None

    def shows(self) -> ShownEvent:
        # The newest of the write's message.created events: catching up after it misses none of them.
        return ShownEvent(self.conversationId, ("message.created",))


class ConversationWindowFrame(PushedFrame):
    """The conversation's reply window closed. The window is the conversation's own, by its channel's rule
    (WhatsApp 24 hours per business number, WeChat 48 hours; Telegram and Signal have none, so their
    conversations never get this frame): free text is refused in that conversation until the customer writes
    again; on WhatsApp templates still go."""

    type: Literal["conversation_window"] = "conversation_window"
    conversationId: ConversationId
    contactId: UUID = Field(description="the customer the conversation is with")
    windowStatus: Literal["expired"]
    windowExpiresAt: JsTimestamp = Field(description="when the window closed")
    seq: Seq = None

    def shows(self) -> ShownEvent:
        # The window is the conversation's (0018), and so is its window.closed event (0020).
        return ShownEvent(self.conversationId, ("window.closed",))


@with_config(ConfigDict(extra="forbid"))
class Person(TypedDict):
    """An agent, as `changes` names an assignee."""

    id: UUID
    name: str
    avatar_url: str | None


@with_config(ConfigDict(extra="forbid"))
class TeamRef(TypedDict):
    """A team, as `changes` names one."""

    id: UUID
    name: str


@with_config(ConfigDict(extra="forbid"))
class ConversationChanges(TypedDict, total=False):
    """The new value of each field the change set, under the PATCH body's names: only those are present (an id
    comes with the object it names)."""

    status: ConversationStatus
    snoozed_until: Annotated[
        JsTimestamp | None,
        Field(description="comes with `status`: when a snooze ends (null: when the customer writes)"),
    ]
    assignee_id: UUID | None
    assignee: Annotated[Person | None, Field(description="comes with `assignee_id`")]
    team_id: UUID | None
    team: Annotated[TeamRef | None, Field(description="comes with `team_id`")]
    priority: Priority | None
    labels: Annotated[list[str], Field(description="the conversation's labels now, the whole set")]


class FrameActor(Frame):
    """Who made a change."""

    id: UUID = Field(description="the agent's user id")
    name: str


def _conversation_change_shown(
    conversation_id: int, changes: ConversationChanges, version: int, *, created: bool
) -> ShownEvent:
    if created:
        return ShownEvent(conversation_id, ("conversation.created",))
    if set(changes) == {"labels"}:
        return ShownEvent(conversation_id, ("conversation.labels_changed",))
    return ShownEvent(conversation_id, ("conversation.updated", "conversation.assigned"), "version", str(version))


class ConversationUpdatedFrame(PushedFrame):
    """A subscribed conversation changed: its status, snooze, assignee, team, priority or labels. The system's own
    changes have `by` null: a customer's message re-opening it, a snooze ending, auto-assignment. The activity
    message each change writes arrives as a `conversation_message` (`created`, `source: "activity"`)."""

    type: Literal["conversation_updated"] = "conversation_updated"
    conversationId: ConversationId
    changes: ConversationChanges
    by: FrameActor | None = Field(description="the agent who made the change; null: the system")
    version: int = Field(description='the conversation\'s new version (its ETag is `W/"<version>"`)')
    seq: Seq = None

    def shows(self) -> ShownEvent:
        return _conversation_change_shown(self.conversationId, self.changes, self.version, created=False)


# ---------------------------------------------------------------------------------------------------------------
# Pushed to the tenant's inbox feed (subscribe_inbox)
# ---------------------------------------------------------------------------------------------------------------
class InboxConversationFrame(PushedFrame):
    """A conversation of the tenant was created or changed (the `subscribe_inbox` feed)."""

    type: Literal["inbox_conversation"] = "inbox_conversation"
    event: InboxEventKind = Field(
        description="`created`: a new conversation (ingest or Meta's notifications), `changes` `{status: open}`, "
        "version 1; `assigned`: its assignee changed (by an agent, or auto-assignment with `by` null); `reopened`: "
        "back to `open` from `resolved` or `snoozed` (the customer wrote, the snooze ended, or an agent); "
        "`updated`: any other change (status, snooze, team, priority)"
    )
    conversationId: ConversationId
    changes: ConversationChanges
    by: FrameActor | None = Field(description="the agent who made the change; null: the system")
    version: int = Field(description="the conversation's new version")
    seq: Seq = None

    def shows(self) -> ShownEvent:
        return _conversation_change_shown(
            self.conversationId, self.changes, self.version, created=self.event == "created"
        )


class TeamCounts(Frame):
    """One team's share of a status."""

    all: int
    unassigned: int


class StatusCounts(Frame):
    """The conversations in one status."""

    all: int
    unassigned: int
    assignees: dict[UUID, int] = Field(description="by agent id: each agent's share (zeros left out)")
    teams: dict[UUID, TeamCounts] = Field(description="by team id: each team's share (zeros left out)")


class InboxCountsByStatus(Frame):
    """Every status, zeros included (`threadline.vocabulary.CONVERSATION_STATUSES`, in order)."""

    open: StatusCounts
    pending: StatusCounts
    snoozed: StatusCounts
    resolved: StatusCounts


class InboxCountsFrame(PushedFrame):
    """The inbox counts moved: sent to the inbox feed after a change that moved them (a conversation created, or
    changed in status, assignee or team), following that change's `inbox_conversation` frames. Each agent finds its
    own "mine" under `assignees`, so one frame serves every agent. The same numbers as
    `GET /v1/conversations/counts`."""

    type: Literal["inbox_counts"] = "inbox_counts"
    counts: InboxCountsByStatus
    seq: None = Field(default=None, description="always null: the counts show no event of the log")


# ---------------------------------------------------------------------------------------------------------------
# Answers to a client's own frames (no seq)
# ---------------------------------------------------------------------------------------------------------------
SubscriptionKind = Literal["subscribed", "unsubscribed"]


class ConversationSubscriptionFrame(Frame):
    """A conversation subscription was made or dropped."""

    type: SubscriptionKind
    topic: Literal["conversation"] = "conversation"
    conversationId: ConversationId


class SessionSubscriptionFrame(Frame):
    """A session subscription was made or dropped."""

    type: SubscriptionKind
    topic: Literal["session"] = "session"
    sessionUuid: str = Field(description="the session's id (`wses_…`), even when it was named by its UUID")


class InboxSubscriptionFrame(Frame):
    """The inbox feed subscription was made or dropped."""

    type: SubscriptionKind
    topic: Literal["inbox"] = "inbox"


SubscriptionFrame = Annotated[
    ConversationSubscriptionFrame | SessionSubscriptionFrame | InboxSubscriptionFrame, Field(discriminator="topic")
]


class ErrorFrame(Frame):
    """A client's frame was refused; nothing changed."""

    type: Literal["error"] = "error"
    error: str = Field(description="what was wrong, e.g. `Conversation not found`")
    action: str | None = Field(description="the refused frame's action (or type), null when it named none we know")


# ---------------------------------------------------------------------------------------------------------------
# The unions
# ---------------------------------------------------------------------------------------------------------------
ConversationFrame = (
    ConversationMessageFrame
    | MessageReactionsFrame
    | ConversationResyncFrame
    | ConversationWindowFrame
    | ConversationUpdatedFrame
)
InboxFrame = InboxConversationFrame | InboxCountsFrame
AnswerFrame = Annotated[SubscriptionFrame | ErrorFrame, Field(discriminator="type")]

ServerFrame = Annotated[
    SessionMessageFrame
    | ConversationMessageFrame
    | MessageReactionsFrame
    | ConversationResyncFrame
    | ConversationWindowFrame
    | ConversationUpdatedFrame
    | InboxConversationFrame
    | InboxCountsFrame
    | SubscriptionFrame
    | ErrorFrame,
    Field(discriminator="type"),
]
"""Every frame the server sends, told apart by `type` (then, for (un)subscribed, by `topic`)."""

PUSHED_FRAMES: tuple[type[PushedFrame], ...] = (
    SessionMessageFrame,
    ConversationMessageFrame,
    MessageReactionsFrame,
    ConversationResyncFrame,
    ConversationWindowFrame,
    ConversationUpdatedFrame,
    InboxConversationFrame,
    InboxCountsFrame,
)
ANSWER_FRAMES: tuple[type[Frame], ...] = (
    ConversationSubscriptionFrame,
    SessionSubscriptionFrame,
    InboxSubscriptionFrame,
    ErrorFrame,
)
SERVER_FRAMES: tuple[type[Frame], ...] = (*PUSHED_FRAMES, *ANSWER_FRAMES)
