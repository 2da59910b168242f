"""The event log's `data`, per event type: one model each (`EVENT_DATA_MODELS`), written from what the database
appends. The SQL is the source: migration 0015's triggers and functions (message_event_data, the conversation,
label and message triggers, event_actor) as 0020 left them (the window events, now the conversation's, and
message.deleted). A change there needs its model changed here; tests/integration/test_event_log.py produces every
type through real writes and holds each stored `data` to its model (nothing missing, nothing extra).

GET /v1/events answers `data` as a JSON object (threadline.models.events.Event, unchanged); docs/events.md's field
tables are generated from these models (`make docs`). Timestamps inside `data` are PostgreSQL's JSON spelling of
timestamptz: ISO 8601 with an offset.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator, with_config
from typing_extensions import TypedDict

from threadline.vocabulary import (
    ConversationStatus,
    Direction,
    EventType,
    MessageStatus,
    Platform,
    Priority,
)


class EventData(BaseModel):
    """An event's `data`: nothing beyond its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class EventActor(EventData):
    """Who made the change."""

    type: Literal["agent", "service"] = Field(description="`agent`: a token with a user; `service`: one without")
    id: UUID | None = Field(description="the agent's user id; null for a service token")
    name: str | None = Field(description="how the token names its bearer")


Actor = Annotated[
    EventActor | None,
    Field(
        description="who made the change; null: a connector, Meta, or the system (auto-assignment, snooze "
        "wake-ups, the scheduled jobs)"
    ),
]


# ---------------------------------------------------------------------------------------------------------------
# Messages (0015's message_event_data)
# ---------------------------------------------------------------------------------------------------------------
class MessageErrorData(EventData):
    """Why the message failed, or what is uncertain about it."""

    code: int | None = Field(description="the channel's error code (Meta's), when it gave one")
    title: str | None


class MessageData(EventData):
    """A message, as every message event carries it."""

    message_id: int
    external_id: str = Field(description="the channel's id of the message")
    direction: Direction
    type: str = Field(description="`text`, `image`, `audio`, `video`, `file`, `location` or `template`")
    content: str
    media_url: str | None
    status: MessageStatus
    source: str = Field(
        description="`ingest`, `whatsapp_webhook` (Meta's notifications), `manual_ui` (an agent's send), `note`, "
        "`activity`, `workspace_api` (a session capture)"
    )
    sent_at: AwareDatetime
    is_system: bool = Field(description="an activity message (source `activity`)")
    private: bool = Field(description="an agent's private note")
    author_user_id: UUID | None = Field(description="the agent who wrote it, for an agent's message")
    error: MessageErrorData | None = Field(description="set when it failed or its channel did not confirm it")
    edited_at: AwareDatetime | None = Field(description="when the customer last edited it (WhatsApp), else null")
    deleted_at: AwareDatetime | None = Field(
        description="when the customer deleted it (WhatsApp): its content is then empty here too; else null"
    )
    actor: Actor


class MessageCreatedData(MessageData):
    """A new message: ingested, from Meta's notifications, an agent's send (`pending`), an activity message
    (`is_system`, source `activity`), a session message. Never private (a note is `note.created`)."""

    @model_validator(mode="after")
    def _not_private(self) -> Self:
        if self.private:
            raise ValueError("message.created of a private note")
        return self


class NoteCreatedData(MessageData):
    """An agent's private note: `private` is true."""

    @model_validator(mode="after")
    def _private(self) -> Self:
        if not self.private:
            raise ValueError("note.created of a message that is not private")
        return self


class MessageStatusChangedData(MessageData):
    """The message's delivery status moved (`pending → sent → delivered → read`, or `failed` with `error`)."""

    previous_status: MessageStatus = Field(description="its status before")

    @model_validator(mode="after")
    def _status_moved(self) -> Self:
        if self.status == self.previous_status:
            raise ValueError("status_changed with status equal to previous_status")
        return self


class MediaData(EventData):
    """A kept medium as the message views' `attachments` list it, without its URL (a presigned URL expires: read
    the messages for one)."""

    state: Literal["pending", "stored", "failed"]
    mime_type: str | None
    file_name: str | None
    size: int | None = Field(description="bytes")
    sha256: str | None = Field(description="hex SHA-256 of the stored file")
    failure_reason: str | None = Field(description="why the copy failed (state failed)")


class MessageUpdatedData(MessageData):
    """Anything else a reader sees of the message changed, its status did not (content, the channel's id, the
    error: e.g. Meta did not confirm a send; a kept medium was stored or failed)."""

    previous_status: MessageStatus = Field(description="its status, unchanged")
    media: MediaData | None = Field(
        default=None, description="only when the change is its medium's copy: the medium as it is now"
    )

    @model_validator(mode="after")
    def _status_kept(self) -> Self:
        if self.status != self.previous_status:
            raise ValueError("message.updated with a status that moved")
        return self


class MessageDeletedData(EventData):
    """A connector's synced copy of an agent's reply was folded into the reply ([connector
    callbacks](connector-callbacks.md)): drop `message_id`, `merged_into` carries on."""

    message_id: int = Field(description="the copy, now gone")
    merged_into: int = Field(description="the reply it was folded into")
    external_id: str = Field(description="the platform's id of the message, now the reply's")
    actor: Actor


# ---------------------------------------------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------------------------------------------
class ConversationCreatedData(EventData):
    """A new conversation."""

    conversation_id: int
    platform: Platform | Literal["workspace"] = Field(description="its channel (`workspace`: a chat session)")
    external_conversation_id: str
    contact_id: UUID | None = Field(description="null for a chat session, which has no contact")
    connection_id: UUID | None = Field(description="the connection it came through, when there is one")
    status: ConversationStatus
    assignee_id: UUID | None
    team_id: UUID | None
    priority: Priority | None
    version: int = Field(description="its version (the ETag's)")
    actor: Actor


@with_config(ConfigDict(extra="forbid"))
class ConversationFieldChanges(TypedDict, total=False):
    """The new value of each field that changed, only those."""

    status: ConversationStatus
    snoozed_until: AwareDatetime | None
    team_id: UUID | None
    priority: Priority | None


class ConversationUpdatedData(EventData):
    """The conversation's status, snooze, team or priority changed (by an agent, a customer's message re-opening
    it, a snooze waking up). A change of assignee is `conversation.assigned`, beside it."""

    conversation_id: int
    changes: ConversationFieldChanges = Field(description="only what changed, new values")
    version: int = Field(description="its new version")
    actor: Actor


class ConversationAssignedData(EventData):
    """The conversation's assignee changed, by an agent or auto-assignment (`actor` null)."""

    conversation_id: int
    assignee_id: UUID | None = Field(description="null: unassigned")
    previous_assignee_id: UUID | None
    version: int = Field(description="its new version")
    actor: Actor


class ConversationLabelsChangedData(EventData):
    """Labels were added to or removed from the conversation: a PUT that adds and removes is two of these (one
    each)."""

    conversation_id: int
    added: list[str] = Field(description="the labels added, by name")
    removed: list[str] = Field(description="the labels removed, by name")
    labels: list[str] = Field(description="the conversation's labels now, in the order they were given")
    actor: Actor


# ---------------------------------------------------------------------------------------------------------------
# Reply windows (0020: the conversation's)
# ---------------------------------------------------------------------------------------------------------------
class WindowData(EventData):
    conversation_id: int
    # A window needs a channel with a rule (0018), and every such conversation has a contact (0006's
    # conversations_contact_required): only a chat session has none, and it has no window.
    contact_id: UUID
    window_expires_at: AwareDatetime


class WindowOpenedData(WindowData):
    """The conversation's reply window (its channel's rule) went from closed to open."""


class WindowClosedData(WindowData):
    """The expiry job noticed the conversation's reply window closed."""


class ReactionByData(EventData):
    """Who reacted: the customer, or the business (an agent, or the tenant for a service token)."""

    type: Literal["customer", "agent"]
    id: str | None = Field(description="the customer's contact id, or the agent's user id (the tenant's when unknown)")
    name: str | None


class ReactionData(EventData):
    emoji: str
    by: ReactionByData
    at: AwareDatetime = Field(description="when it was given")


class MessageReactionsChangedData(EventData):
    """A message's reactions changed (the customer's, from WhatsApp, or an agent's, sent through Meta)."""

    message_id: int
    conversation_id: int
    reactions: list[ReactionData] = Field(
        description="the message's reactions now, one per side, oldest first (a removed one is left out)"
    )
    actor: Actor


EVENT_DATA_MODELS: dict[EventType, type[EventData]] = {
    "message.created": MessageCreatedData,
    "message.reactions_changed": MessageReactionsChangedData,
    "message.status_changed": MessageStatusChangedData,
    "message.updated": MessageUpdatedData,
    "message.deleted": MessageDeletedData,
    "note.created": NoteCreatedData,
    "conversation.created": ConversationCreatedData,
    "conversation.updated": ConversationUpdatedData,
    "conversation.assigned": ConversationAssignedData,
    "conversation.labels_changed": ConversationLabelsChangedData,
    "window.opened": WindowOpenedData,
    "window.closed": WindowClosedData,
}
