"""What agents add to a conversation: labels, private notes, and their own read state.

Rules:
- Each of these is an agent's act: the token's `sub` must be a user of the tenant (403 otherwise).
- Labels: a PUT replaces the conversation's whole set. Labels are the tenant's, matched case-insensitively (a new
  one keeps the spelling it was first written in), at most MAX_LABELS_PER_CONVERSATION per conversation. A change
  moves the conversation's version (its ETag), writes an activity message ("Ana added labels vip, billing") and
  tells subscribers (`conversation_updated` with `changes.labels`); the same set again changes nothing. A label no
  conversation carries any more stays in the tenant's list with 0: it is vocabulary agents pick again.
- Notes: private messages for other agents, never sent to any channel and never the conversation's
  last_message_* (those stay what the customer saw). Writing one moves the author's read horizon to it, so it is
  never unread for its author; for every other agent it is unread like a customer message.
- Read state: an agent's horizon only moves forward; replying and writing notes move it too (migration 0013).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from threadline.caller import Actor, Caller
from threadline.db.repositories.annotations import (
    LabelRow,
    ReceiptTarget,
    WrittenMessage,
    bump_conversation_version,
    conversation_label_names,
    ensure_labels,
    find_receipt_target,
    insert_activity_message,
    insert_note,
    list_labels,
    lock_conversation,
    message_in_conversation,
    move_read_horizon,
    newest_message_id,
    replace_conversation_labels,
    unread_count,
)
from threadline.db.repositories.lifecycle import find_agent
from threadline.db.repositories.messages import find_conversation_header
from threadline.db.repositories.realtime import RealtimeMessage
from threadline.db.tenancy import run_in_transaction
from threadline.domain.inbox.messages import message_view
from threadline.domain.inbox.read_receipts import send_read_receipt
from threadline.errors import CONVERSATION_NOT_FOUND, Forbidden, InvalidRequest, NotFound
from threadline.models.annotations import (
    ConversationLabels,
    LabelList,
    LabelsRequest,
    LabelSummary,
    NoteRequest,
    ReadRequest,
    ReadState,
    distinct_labels,
)
from threadline.models.messages import MessageView
from threadline.realtime.frames import ConversationEvent, conversation_message_event, conversation_updated_event
from threadline.realtime.publisher import publish_conversation_events

NOT_AN_AGENT_MESSAGE = "This token names no agent of the tenant: labels, notes and read state need an agent's own token"


def _acting_agent(conn: psycopg.Connection[Any], caller: Caller) -> Actor:
    agent = find_agent(conn, caller.user_id) if caller.user_id is not None else None
    if agent is None:
        raise Forbidden(NOT_AN_AGENT_MESSAGE)
    return Actor(id=agent.id, name=agent.display_name)


def _frame_message(message: WrittenMessage) -> RealtimeMessage:
    return RealtimeMessage(
        id=message.id,
        conversation_id=message.conversation_id,
        external_id=message.external_id,
        direction=message.direction,
        type=message.type,
        content=message.content,
        media_url=message.media_url,
        status=message.status,
        source=message.source,
        sent_at=message.sent_at,
        created_at=message.created_at,
        error_code=message.error_code,
        error_title=message.error_title,
        is_private=message.is_private,
    )


def labels_activity(actor: Actor, added: list[str], removed: list[str]) -> str:
    """ "Ana added labels vip, billing and removed label spam"."""

    def part(verb: str, names: list[str]) -> str:
        return f"{verb} {'label' if len(names) == 1 else 'labels'} {', '.join(names)}"

    parts = [part("added", added)] if added else []
    parts += [part("removed", removed)] if removed else []
    return f"{actor.name} {' and '.join(parts)}"


# ---------------------------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _LabelsWritten:
    answer: ConversationLabels
    events: list[ConversationEvent]


def replace_labels(caller: Caller, conversation_id: int, request: LabelsRequest) -> ConversationLabels:
    wanted = distinct_labels(request.labels)

    def write(conn: psycopg.Connection[Any]) -> _LabelsWritten:
        actor = _acting_agent(conn, caller)
        conversation = lock_conversation(conn, conversation_id)
        if conversation is None:
            raise NotFound(CONVERSATION_NOT_FOUND)
        if wanted:
            ensure_labels(conn, caller.tenant_id, wanted)
        change = replace_conversation_labels(conn, caller.tenant_id, conversation_id, wanted)
        labels = conversation_label_names(conn, caller.tenant_id, conversation_id)
        if not change.added and not change.removed:
            return _LabelsWritten(
                ConversationLabels(conversation_id=conversation_id, labels=labels, version=conversation.version), []
            )
        version = bump_conversation_version(conn, conversation_id)
        activity = insert_activity_message(
            conn,
            tenant_id=caller.tenant_id,
            conversation_id=conversation_id,
            author_user_id=actor.id,
            content=labels_activity(actor, change.added, change.removed),
        )
        events = [
            conversation_message_event("created", _frame_message(activity)),
            conversation_updated_event(conversation_id, {"labels": labels}, actor, version),
        ]
        return _LabelsWritten(
            ConversationLabels(conversation_id=conversation_id, labels=labels, version=version), events
        )

    written = run_in_transaction(write, tenant_id=caller.tenant_id, actor=caller)
    publish_conversation_events(caller.tenant_id, written.events)
    return written.answer


def list_tenant_labels(caller: Caller) -> LabelList:
    def read(conn: psycopg.Connection[Any]) -> list[LabelRow]:
        _acting_agent(conn, caller)  # an agent's own token, as for every route here (403 otherwise)
        return list_labels(conn)

    rows = run_in_transaction(read, tenant_id=caller.tenant_id)
    return LabelList(
        labels=[LabelSummary(id=row.id, name=row.name, conversation_count=row.conversation_count) for row in rows]
    )


# ---------------------------------------------------------------------------------------------------------------
# Notes
# ---------------------------------------------------------------------------------------------------------------
def write_note(caller: Caller, conversation_id: int, request: NoteRequest) -> MessageView:
    def write(conn: psycopg.Connection[Any]) -> tuple[MessageView, RealtimeMessage]:
        actor = _acting_agent(conn, caller)
        conversation = find_conversation_header(conn, conversation_id)
        if conversation is None:
            raise NotFound(CONVERSATION_NOT_FOUND)
        note = insert_note(
            conn,
            tenant_id=caller.tenant_id,
            conversation_id=conversation_id,
            author_user_id=actor.id,
            content=request.content,
        )
        return message_view(note, conversation), _frame_message(note)

    view, frame_message = run_in_transaction(write, tenant_id=caller.tenant_id, actor=caller)
    publish_conversation_events(caller.tenant_id, [conversation_message_event("created", frame_message)])
    return view


# ---------------------------------------------------------------------------------------------------------------
# Read state
# ---------------------------------------------------------------------------------------------------------------
def mark_read(caller: Caller, conversation_id: int, request: ReadRequest) -> ReadState:
    def write(conn: psycopg.Connection[Any]) -> tuple[ReadState, ReceiptTarget | None]:
        actor = _acting_agent(conn, caller)
        if find_conversation_header(conn, conversation_id) is None:
            raise NotFound(CONVERSATION_NOT_FOUND)
        up_to: int | None = request.up_to_message_id
        if up_to is not None:
            if not message_in_conversation(conn, conversation_id, up_to):
                raise InvalidRequest(
                    f"up_to_message_id: message {request.up_to_message_id} is not a message of this conversation"
                )
        else:
            up_to = newest_message_id(conn, caller.tenant_id, conversation_id)
        if up_to is None:  # nothing to read yet
            state = ReadState(
                conversation_id=conversation_id,
                last_read_message_id=None,
                unread_count=unread_count(conn, conversation_id, actor.id),
            )
            return state, None
        move = move_read_horizon(
            conn, tenant_id=caller.tenant_id, conversation_id=conversation_id, user_id=actor.id, up_to_message_id=up_to
        )
        receipt = None
        if move.last_read_message_id != move.previous_message_id:
            # Only what this move newly covered: a horizon that did not move sends Meta nothing again.
            receipt = find_receipt_target(
                conn, conversation_id, after_id=move.previous_message_id, up_to_id=move.last_read_message_id
            )
        state = ReadState(
            conversation_id=conversation_id,
            last_read_message_id=move.last_read_message_id,
            unread_count=move.unread_count,
        )
        return state, receipt

    state, receipt = run_in_transaction(write, tenant_id=caller.tenant_id)
    send_read_receipt(receipt, "read")
    return state
