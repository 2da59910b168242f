"""Workspace chat sessions: workspaces and sessions, message capture, and replies from the language model.

A session is backed by one conversation (platform 'workspace') and its messages are rows of `messages`: a user
message is inbound, an assistant message outbound. The URL names a workspace by uuid or config id and a session by
its `wses_` id or uuid; a session of another workspace, or of another tenant (RLS), is simply not found.

A user message with process=true:
1. one transaction: store the user message and read the history the reply needs; commit; broadcast it;
2. outside any transaction: ask the language model (threadline.bedrock.client, with the turns threadline.domain.sessions.replies picks), threaded by claudeSessionId;
3. a second transaction: store the reply as the assistant message (same channel, context and thread); broadcast.
When 2 or 3 fails the user message stays stored, and the answer is the seed's: 500 with
{success: true, userMessage, processingError} (ReplyNotProduced, answered by threadline.http.errors).

Threads: claudeSessionId is stored on each message (messages.thread_id). With one, the model sees only that
thread's earlier messages in the session; without, the whole session's.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from threadline.bedrock.client import LlmFailure, Role, Turn, generate_reply
from threadline.bedrock.config import get_llm_settings
from threadline.caller import Caller
from threadline.db.errors import StorageError
from threadline.db.repositories.sessions import (
    NewSessionMessage,
    SessionMessageRow,
    SessionRecord,
    WorkspaceRecord,
    find_workspace,
    insert_session,
    insert_session_message,
    insert_workspace,
    recent_session_history,
)
from threadline.db.tenancy import run_in_transaction
from threadline.domain.sessions.replies import CHARACTERS_PER_TOKEN, history_window
from threadline.errors import Conflict, NotFound, ReplyNotProduced
from threadline.models.frames import SessionFrameMessage
from threadline.models.ids import parse_uuid
from threadline.models.sessions import (
    SESSION_NOT_FOUND,
    WORKSPACE_NOT_FOUND,
    CapturedAssistantMessage,
    CapturedMessage,
    CapturedUserMessage,
    CaptureRequest,
    CreateSessionRequest,
    CreateWorkspaceRequest,
    SessionCreated,
    SessionMessage,
    SessionView,
    WorkspaceCreated,
    WorkspaceView,
)
from threadline.observability import logger, metrics
from threadline.realtime.publisher import publish_session_message

# How many earlier messages are read at most before the token budget picks from them.
HISTORY_MESSAGE_LIMIT = 100
# Time kept back from the model call for saving its reply and answering before the function's timeout.
REPLY_RESERVE_SECONDS = 2.5
_DIRECTION_BY_ROLE: dict[Role, str] = {"user": "inbound", "assistant": "outbound"}
_ROLE_BY_DIRECTION: dict[str, Role] = {direction: role for role, direction in _DIRECTION_BY_ROLE.items()}


def detect_content_type(content: str) -> str:
    """'json' when the content is a JSON object or array (e.g. an assistant's list of events), else 'text'."""
    candidate = content.strip()
    if candidate[:1] not in ("{", "["):
        return "text"
    try:
        return "json" if isinstance(json.loads(candidate), dict | list) else "text"
    except ValueError:
        return "text"


# ---------------------------------------------------------------------------------------------------------------
# Workspaces and sessions (the API and the CLI; `conn` is scoped to the tenant, or the owner's for the CLI)
# ---------------------------------------------------------------------------------------------------------------


def create_workspace(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str, config_id: str | None = None
) -> WorkspaceRecord:
    record = insert_workspace(conn, tenant_id=tenant_id, name=name, config_id=config_id)
    if record is None:
        raise Conflict(f"A workspace with configId {config_id} already exists")
    return record


def resolve_workspace(conn: psycopg.Connection[Any], *, tenant_id: UUID, workspace_ref: str) -> WorkspaceRecord:
    workspace = find_workspace(
        conn, tenant_id=tenant_id, workspace_uuid=parse_uuid(workspace_ref), config_id=workspace_ref
    )
    if workspace is None:
        raise NotFound(WORKSPACE_NOT_FOUND)
    return workspace


def create_session(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, workspace_ref: str, title: str | None = None
) -> SessionRecord:
    workspace = resolve_workspace(conn, tenant_id=tenant_id, workspace_ref=workspace_ref)
    return insert_session(conn, tenant_id=tenant_id, workspace_id=workspace.id, title=title)


def workspace_view(record: WorkspaceRecord) -> WorkspaceView:
    return WorkspaceView(id=str(record.id), configId=record.config_id, name=record.name, createdAt=record.created_at)


def session_view(record: SessionRecord) -> SessionView:
    return SessionView(
        id=record.public_id,
        uuid=str(record.uuid),
        workspaceId=str(record.workspace_id),
        title=record.title,
        createdAt=record.created_at,
    )


def create_workspace_for(caller: Caller, request: CreateWorkspaceRequest) -> WorkspaceCreated:
    record = run_in_transaction(
        lambda conn: create_workspace(conn, tenant_id=caller.tenant_id, name=request.name, config_id=request.config_id),
        tenant_id=caller.tenant_id,
    )
    return WorkspaceCreated(success=True, workspace=workspace_view(record))


def create_session_for(caller: Caller, workspace_ref: str, request: CreateSessionRequest) -> SessionCreated:
    record = run_in_transaction(
        lambda conn: create_session(conn, tenant_id=caller.tenant_id, workspace_ref=workspace_ref, title=request.title),
        tenant_id=caller.tenant_id,
    )
    return SessionCreated(success=True, session=session_view(record))


# ---------------------------------------------------------------------------------------------------------------
# Message capture
# ---------------------------------------------------------------------------------------------------------------


def message_username(row: SessionMessageRow, caller: Caller) -> str:
    """Who a captured message is shown as sent by (the seed types `username` as a string, for both roles): the
    calling agent's name; else how the token names its bearer (a service token's name or subject); else the channel
    it came through."""
    return row.agent_name or caller.token_name or row.channel


def full_message(row: SessionMessageRow, caller: Caller) -> SessionMessage:
    return SessionMessage(
        id=row.id,
        uuid=row.uuid,
        workspaceId=str(row.workspace_id),
        workspaceSessionId=row.workspace_session_id,
        workspaceSessionUuid=str(row.workspace_session_uuid),
        role=_ROLE_BY_DIRECTION[row.direction],
        content=row.content,
        contentType=row.content_type,
        contextType=row.context_type,
        # Threadline has no context objects of its own: the context is always the session's workspace.
        contextId=str(row.workspace_id),
        channel=row.channel,
        username=message_username(row, caller),
        createdAt=row.created_at,
        updatedAt=row.updated_at,
    )


def brief_message(row: SessionMessageRow) -> CapturedMessage:
    return CapturedMessage(
        id=row.id,
        workspaceId=str(row.workspace_id),
        workspaceSessionId=row.workspace_session_id,
        role=_ROLE_BY_DIRECTION[row.direction],
        content=row.content,
        contentType=row.content_type,
        channel=row.channel,
        createdAt=row.created_at,
    )


def websocket_message(row: SessionMessageRow) -> SessionFrameMessage:
    """The seed's WebSocket `message` (the publisher wraps it in {type, sessionUuid, message})."""
    return SessionFrameMessage(
        id=str(row.id),
        role=_ROLE_BY_DIRECTION[row.direction],
        content=row.content,
        metadata=row.metadata or {},
        createdAt=row.created_at,
    )


def _broadcast(tenant_id: UUID, row: SessionMessageRow) -> None:
    """Tell the session's WebSocket subscribers, after the commit. The publisher never raises: the message is
    stored, and a client that missed the frame sees the message when it next reads the session. Subscribers name
    the session as the seed does ("sessionUuid": "wses_..."): by its public id."""
    publish_session_message(tenant_id, row.workspace_session_id, websocket_message(row))


def _new_message(request: CaptureRequest, caller: Caller, *, role: Role, content: str) -> NewSessionMessage:
    return NewSessionMessage(
        direction=_DIRECTION_BY_ROLE[role],
        content=content,
        content_type=detect_content_type(content),
        channel=request.channel,
        metadata=request.metadata,
        context_type=request.context_type,
        thread_id=request.claude_session_id,
        author_user_id=caller.user_id if role == "user" else None,
        agent_user_id=caller.user_id,
    )


def _store(
    conn: psycopg.Connection[Any], caller: Caller, workspace_ref: str, session_ref: str, message: NewSessionMessage
) -> SessionMessageRow:
    row = insert_session_message(
        conn,
        tenant_id=caller.tenant_id,
        workspace_ref=workspace_ref,
        workspace_uuid=parse_uuid(workspace_ref),
        session_ref=session_ref,
        session_uuid=parse_uuid(session_ref),
        message=message,
    )
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    return row


def capture_assistant_message(
    *, caller: Caller, workspace_ref: str, session_ref: str, request: CaptureRequest
) -> CapturedAssistantMessage:
    """POST .../message/assistant (and the deprecated .../message): store a message the assistant side sends."""
    message = _new_message(request, caller, role="assistant", content=request.message)
    row = run_in_transaction(
        lambda conn: _store(conn, caller, workspace_ref, session_ref, message), tenant_id=caller.tenant_id
    )
    _broadcast(caller.tenant_id, row)
    metrics.add_metric(name="SessionMessagesCaptured", unit=MetricUnit.Count, value=1)
    return CapturedAssistantMessage(success=True, message=brief_message(row))


@dataclass(frozen=True)
class _StoredUserMessage:
    row: SessionMessageRow
    # Earlier turns, newest first, each with its full length in characters; empty unless a reply is wanted.
    history: list[tuple[Turn, int]]


def capture_user_message(
    *, caller: Caller, workspace_ref: str, session_ref: str, request: CaptureRequest, remaining_ms: int
) -> CapturedUserMessage:
    """POST .../message/user: store the user's message and, with process=true, the model's reply
    (ReplyNotProduced when none could be produced or saved: the user message stays stored)."""
    message = _new_message(request, caller, role="user", content=request.message)
    settings = get_llm_settings()
    wants_reply = request.process and settings.is_configured
    history_chars = settings.history_token_budget * CHARACTERS_PER_TOKEN

    def store_and_read_history(conn: psycopg.Connection[Any]) -> _StoredUserMessage:
        row = _store(conn, caller, workspace_ref, session_ref, message)
        if not wants_reply:
            return _StoredUserMessage(row, [])
        earlier = recent_session_history(
            conn,
            tenant_id=caller.tenant_id,
            conversation_id=row.conversation_id,
            thread_id=request.claude_session_id,
            before=row,
            limit=HISTORY_MESSAGE_LIMIT,
            max_chars=history_chars,
        )
        turns = [(Turn(_ROLE_BY_DIRECTION[m.direction], m.content), m.content_chars) for m in earlier]
        return _StoredUserMessage(row, turns)

    started = time.monotonic()
    stored = run_in_transaction(store_and_read_history, tenant_id=caller.tenant_id)
    _broadcast(caller.tenant_id, stored.row)
    metrics.add_metric(name="SessionMessagesCaptured", unit=MetricUnit.Count, value=1)
    user_message = full_message(stored.row, caller)
    if not request.process:
        return CapturedUserMessage(success=True, userMessage=user_message, assistantMessage=None)

    deadline = started + remaining_ms / 1000 - REPLY_RESERVE_SECONDS
    try:
        reply_row = _reply(caller, workspace_ref, session_ref, request, stored, deadline=deadline)
    except LlmFailure as failure:
        metrics.add_metric(name="SessionRepliesFailed", unit=MetricUnit.Count, value=1)
        raise ReplyNotProduced(failure.message, user_message=user_message) from None
    _broadcast(caller.tenant_id, reply_row)
    metrics.add_metric(name="SessionRepliesGenerated", unit=MetricUnit.Count, value=1)
    return CapturedUserMessage(success=True, userMessage=user_message, assistantMessage=full_message(reply_row, caller))


def _reply(
    caller: Caller,
    workspace_ref: str,
    session_ref: str,
    request: CaptureRequest,
    stored: _StoredUserMessage,
    *,
    deadline: float,
) -> SessionMessageRow:
    """Generate and store the assistant's reply; LlmFailure when there is none to show."""
    latest = Turn("user", stored.row.content)
    turns = history_window(stored.history, latest, token_budget=get_llm_settings().history_token_budget)
    reply = generate_reply(turns, deadline=deadline)
    message = _new_message(request, caller, role="assistant", content=reply)
    try:
        return run_in_transaction(
            lambda conn: _store(conn, caller, workspace_ref, session_ref, message), tenant_id=caller.tenant_id
        )
    except NotFound:
        raise LlmFailure("The session was removed before the reply could be saved") from None
    except StorageError:
        logger.exception("saving the language model's reply failed")
        raise LlmFailure("The reply could not be saved") from None
