"""Workspaces, their chat sessions, and session messages (rows of `messages` in the session's conversation).

Every query names its tenant explicitly as well as running under RLS: the owner's connection (the CLI) bypasses
RLS, and with the tenant in the condition the composite indexes are used either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class WorkspaceRecord:
    id: UUID
    tenant_id: UUID
    config_id: str | None
    name: str
    created_at: datetime


@dataclass(frozen=True)
class SessionRecord:
    id: int
    tenant_id: UUID
    public_id: str
    uuid: UUID
    workspace_id: UUID
    conversation_id: int
    title: str | None
    created_at: datetime


@dataclass(frozen=True)
class SessionMessageRow:
    id: int
    uuid: str  # the message's external_id, `wmsg_...`
    session_id: int
    conversation_id: int
    workspace_id: UUID
    workspace_session_id: str
    workspace_session_uuid: UUID
    direction: str
    content: str
    content_type: str
    channel: str
    metadata: dict[str, Any]
    context_type: str
    thread_id: str | None
    agent_name: str | None  # the name of the tenant's user who made the request, when the token's sub is one
    sent_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewSessionMessage:
    direction: str  # inbound (user) or outbound (assistant)
    content: str
    content_type: str
    channel: str
    metadata: dict[str, Any]
    context_type: str
    thread_id: str | None
    author_user_id: UUID | None  # the user who wrote it (user messages only)
    agent_user_id: UUID | None  # the user whose request stored it, whichever the role


@dataclass(frozen=True)
class HistoryMessage:
    direction: str
    # At most the characters asked for: a long message never travels whole just to be cut by the token budget.
    content: str
    content_chars: int


_WORKSPACE_COLUMNS = "id, tenant_id, config_id, name, created_at"
_SESSION_COLUMNS = "id, tenant_id, public_id, uuid, workspace_id, conversation_id, title, created_at"


def insert_workspace(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str, config_id: str | None
) -> WorkspaceRecord | None:
    """The new workspace, or None when the tenant already has one with this config id."""
    with conn.cursor(row_factory=class_row(WorkspaceRecord)) as cursor:
        return cursor.execute(
            f"INSERT INTO workspaces (tenant_id, config_id, name) VALUES (%s, %s, %s)"
            f" ON CONFLICT (tenant_id, config_id) DO NOTHING RETURNING {_WORKSPACE_COLUMNS}",
            (tenant_id, config_id, name),
        ).fetchone()


def find_workspace(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, workspace_uuid: UUID | None, config_id: str
) -> WorkspaceRecord | None:
    """A workspace named by its uuid or its config id; the uuid wins when a config id happens to look like one."""
    with conn.cursor(row_factory=class_row(WorkspaceRecord)) as cursor:
        return cursor.execute(
            f"SELECT {_WORKSPACE_COLUMNS} FROM workspaces"
            " WHERE tenant_id = %(tenant_id)s AND (id = %(workspace_uuid)s OR config_id = %(config_id)s)"
            " ORDER BY id = %(workspace_uuid)s DESC NULLS LAST LIMIT 1",
            {"tenant_id": tenant_id, "workspace_uuid": workspace_uuid, "config_id": config_id},
        ).fetchone()


def find_workspace_tenant(conn: psycopg.Connection[Any], workspace_id: UUID) -> UUID | None:
    """The tenant of a workspace (administration only: under RLS this sees the current tenant's workspaces)."""
    row = conn.execute("SELECT tenant_id FROM workspaces WHERE id = %s", (workspace_id,)).fetchone()
    return row[0] if row else None


# The conversation first (the session's public id is its external id), then the session pointing at it.
_INSERT_SESSION = f"""
WITH new_session AS (
    SELECT 'wses_' || replace(gen_random_uuid()::text, '-', '') AS public_id
),
session_conversation AS (
    INSERT INTO conversations (tenant_id, platform, external_conversation_id)
    SELECT %(tenant_id)s, 'workspace', public_id FROM new_session
    RETURNING id, external_conversation_id
)
INSERT INTO workspace_sessions (tenant_id, public_id, workspace_id, conversation_id, title)
SELECT %(tenant_id)s, c.external_conversation_id, %(workspace_id)s, c.id, %(title)s
FROM session_conversation c
RETURNING {_SESSION_COLUMNS}
"""


def insert_session(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, workspace_id: UUID, title: str | None
) -> SessionRecord:
    with conn.cursor(row_factory=class_row(SessionRecord)) as cursor:
        row = cursor.execute(
            _INSERT_SESSION, {"tenant_id": tenant_id, "workspace_id": workspace_id, "title": title}
        ).fetchone()
    assert row is not None
    return row


# One round trip: find the session inside the named workspace, insert the message, move the conversation's
# last-message columns, and return the message with everything the response needs. No session, no row.
_CAPTURE_MESSAGE = """
WITH target AS (
    SELECT s.id, s.public_id, s.uuid, s.workspace_id, s.conversation_id
    FROM workspace_sessions s
    JOIN workspaces w ON w.tenant_id = s.tenant_id AND w.id = s.workspace_id
    WHERE s.tenant_id = %(tenant_id)s
      AND (s.public_id = %(session_ref)s OR s.uuid = %(session_uuid)s)
      AND (w.id = %(workspace_uuid)s OR w.config_id = %(workspace_ref)s)
    LIMIT 1
),
inserted AS (
    INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status, source,
                          author_user_id, content_type, channel, metadata, context_type, thread_id, updated_at)
    SELECT %(tenant_id)s, t.conversation_id, 'wmsg_' || replace(gen_random_uuid()::text, '-', ''), %(direction)s,
           'text', %(content)s, now(), CASE %(direction)s WHEN 'inbound' THEN 'received' ELSE 'sent' END,
           'workspace_api', (SELECT u.id FROM users u WHERE u.tenant_id = %(tenant_id)s AND u.id = %(author)s),
           %(content_type)s, %(channel)s, %(metadata)s, %(context_type)s, %(thread_id)s, now()
    FROM target t
    RETURNING *
),
touched_conversation AS (
    UPDATE conversations c
    SET last_message_at = i.sent_at, last_message_preview = left(i.content, 100), updated_at = now()
    FROM inserted i
    WHERE c.tenant_id = %(tenant_id)s AND c.id = i.conversation_id
      AND (c.last_message_at IS NULL OR c.last_message_at <= i.sent_at)
)
SELECT i.id, i.external_id AS uuid, t.id AS session_id, t.conversation_id, t.workspace_id,
       t.public_id AS workspace_session_id, t.uuid AS workspace_session_uuid, i.direction, i.content,
       i.content_type, i.channel, i.metadata, i.context_type, i.thread_id, u.name AS agent_name, i.sent_at,
       i.created_at, i.updated_at
FROM inserted i
CROSS JOIN target t
LEFT JOIN users u ON u.tenant_id = %(tenant_id)s AND u.id = %(agent)s
"""


def insert_session_message(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    workspace_ref: str,
    workspace_uuid: UUID | None,
    session_ref: str,
    session_uuid: UUID | None,
    message: NewSessionMessage,
) -> SessionMessageRow | None:
    """Store a message in the session `session_ref` (public id or uuid) of workspace `workspace_ref` (uuid or config
    id); None when no such session exists in that workspace for this tenant."""
    params = {
        "tenant_id": tenant_id,
        "workspace_ref": workspace_ref,
        "workspace_uuid": workspace_uuid,
        "session_ref": session_ref,
        "session_uuid": session_uuid,
        "direction": message.direction,
        "content": message.content,
        "content_type": message.content_type,
        "channel": message.channel,
        "metadata": Jsonb(message.metadata),
        "context_type": message.context_type,
        "thread_id": message.thread_id,
        "author": message.author_user_id,
        "agent": message.agent_user_id,
    }
    with conn.cursor(row_factory=class_row(SessionMessageRow)) as cursor:
        return cursor.execute(_CAPTURE_MESSAGE, params).fetchone()


_HISTORY_COLUMNS = "m.direction, left(m.content, %(max_chars)s) AS content, char_length(m.content) AS content_chars"
_SESSION_HISTORY = f"""
SELECT {_HISTORY_COLUMNS}
FROM messages m
WHERE m.tenant_id = %(tenant_id)s AND m.conversation_id = %(conversation_id)s
  AND (m.sent_at, m.id) < (%(before_sent_at)s, %(before_id)s)
ORDER BY m.sent_at DESC, m.id DESC
LIMIT %(limit)s
"""
_THREAD_HISTORY = f"""
SELECT {_HISTORY_COLUMNS}
FROM messages m
WHERE m.tenant_id = %(tenant_id)s AND m.conversation_id = %(conversation_id)s AND m.thread_id = %(thread_id)s
  AND (m.sent_at, m.id) < (%(before_sent_at)s, %(before_id)s)
ORDER BY m.sent_at DESC, m.id DESC
LIMIT %(limit)s
"""


def recent_session_history(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    conversation_id: int,
    thread_id: str | None,
    before: SessionMessageRow,
    limit: int,
    max_chars: int,
) -> list[HistoryMessage]:
    """The messages before `before` in its session (in its thread when `thread_id` is given), newest first."""
    params = {
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "thread_id": thread_id,
        "before_sent_at": before.sent_at,
        "before_id": before.id,
        "limit": limit,
        "max_chars": max_chars,
    }
    with conn.cursor(row_factory=class_row(HistoryMessage)) as cursor:
        return cursor.execute(_THREAD_HISTORY if thread_id else _SESSION_HISTORY, params).fetchall()
