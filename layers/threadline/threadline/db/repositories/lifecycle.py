"""A conversation's lifecycle in the database: changing it under optimistic concurrency, writing the activity
messages that record each change, re-opening on the customer's next message, and waking snoozes that are due.

Activity messages are ordinary rows of `messages` (is_system, direction outbound, source `activity`), so every
message view shows them in the timeline; the send path is the only one that calls a channel, and it never reads
them. Each write here is one statement: a re-open and its activity message travel together (data-modifying CTEs),
inside the transaction of the inbound message that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import Availability, ConversationStatus, Priority

ACTIVITY_SOURCE = "activity"
# An activity message's external id: unique per conversation like every message's, and never a channel's id.
_ACTIVITY_EXTERNAL_ID = "'act_' || replace(gen_random_uuid()::text, '-', '')"


@dataclass(frozen=True)
class ConversationState:
    """What an agent can change about a conversation, and its version (the ETag)."""

    id: int
    version: int
    status: ConversationStatus
    snoozed_until: datetime | None
    assignee_id: UUID | None
    team_id: UUID | None
    priority: Priority | None


@dataclass(frozen=True)
class AgentRecord:
    id: UUID
    name: str
    email: str | None
    avatar_url: str | None
    availability: Availability

    @property
    def display_name(self) -> str:
        """How activity messages and frames name the agent: the name, else the email, else "Agent"."""
        if self.name:
            return self.name
        return self.email if self.email is not None else "Agent"


@dataclass(frozen=True)
class TeamRecord:
    id: UUID
    name: str


@dataclass(frozen=True)
class Reopened:
    """A conversation the system re-opened (the customer wrote, or its snooze ended), with its activity message."""

    conversation_id: int
    version: int
    previous_status: ConversationStatus
    assignee_id: UUID | None
    activity_message_id: int


def lock_conversation_state(conn: psycopg.Connection[Any], conversation_id: int) -> ConversationState | None:
    """The inbox conversation's changeable state, locked until the transaction ends; None when RLS hides it, it
    does not exist, or it is a workspace chat session (not an inbox conversation)."""
    with conn.cursor(row_factory=class_row(ConversationState)) as cursor:
        return cursor.execute(
            """
            SELECT id, version, status, snoozed_until, assignee_id, team_id, priority
            FROM conversations
            WHERE id = %s AND platform <> 'workspace'
            FOR UPDATE
            """,
            (conversation_id,),
        ).fetchone()


def compare_and_set_state(
    conn: psycopg.Connection[Any], *, expected_version: int, state: ConversationState
) -> int | None:
    """Write `state` only if the conversation is still at `expected_version`; the new version, or None when
    another change came first (the trigger of 0011 moves the version)."""
    row = conn.execute(
        """
        UPDATE conversations
        SET status = %(status)s, snoozed_until = %(snoozed_until)s, assignee_id = %(assignee_id)s,
            team_id = %(team_id)s, priority = %(priority)s, updated_at = now()
        WHERE id = %(id)s AND version = %(expected_version)s
        RETURNING version
        """,
        {
            "id": state.id,
            "expected_version": expected_version,
            "status": state.status,
            "snoozed_until": state.snoozed_until,
            "assignee_id": state.assignee_id,
            "team_id": state.team_id,
            "priority": state.priority,
        },
    ).fetchone()
    return int(row[0]) if row else None


def find_agent(conn: psycopg.Connection[Any], user_id: UUID) -> AgentRecord | None:
    """An agent (user) of the transaction's tenant; None for anyone else (RLS)."""
    with conn.cursor(row_factory=class_row(AgentRecord)) as cursor:
        return cursor.execute(
            "SELECT id, name, email, avatar_url, availability FROM users WHERE id = %s", (user_id,)
        ).fetchone()


def find_team(conn: psycopg.Connection[Any], team_id: UUID) -> TeamRecord | None:
    with conn.cursor(row_factory=class_row(TeamRecord)) as cursor:
        return cursor.execute("SELECT id, name FROM teams WHERE id = %s", (team_id,)).fetchone()


def is_team_member(conn: psycopg.Connection[Any], *, team_id: UUID, user_id: UUID) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM team_members WHERE team_id = %s AND user_id = %s)", (team_id, user_id)
    ).fetchone()
    return bool(row and row[0])


def note_assignment(conn: psycopg.Connection[Any], user_id: UUID) -> None:
    """The agent was just given a conversation: auto-assignment's tie-break (longest since first) moves."""
    conn.execute("UPDATE users SET last_assigned_at = now() WHERE id = %s", (user_id,))


@dataclass(frozen=True)
class ActivityEntry:
    conversation_id: int
    content: str
    # The agent who made the change; None = the system.
    author_user_id: UUID | None


def insert_activity_messages(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, entries: Sequence[ActivityEntry]
) -> list[int]:
    """Write activity messages (one statement), returning their ids in the order given."""
    if not entries:
        return []
    rows = conn.execute(
        f"""
        INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status,
                              source, author_user_id, is_system)
        SELECT %(tenant_id)s, e.conversation_id, {_ACTIVITY_EXTERNAL_ID}, 'outbound', 'text', e.content,
               clock_timestamp(), 'sent', %(source)s, e.author_user_id, true
        FROM unnest(%(conversation_ids)s::bigint[], %(contents)s::text[], %(authors)s::uuid[])
             WITH ORDINALITY AS e (conversation_id, content, author_user_id, position)
        ORDER BY e.position
        RETURNING id
        """,
        {
            "tenant_id": tenant_id,
            "source": ACTIVITY_SOURCE,
            "conversation_ids": [entry.conversation_id for entry in entries],
            "contents": [entry.content for entry in entries],
            "authors": [entry.author_user_id for entry in entries],
        },
    ).fetchall()
    return sorted(int(row[0]) for row in rows)


# Re-open `targets` (conversation ids with the reason's text) if resolved or snoozed, with one activity message
# each. The old status comes from a locked read of the same rows: RETURNING shows only the new values.
_REOPEN = f"""
, previous AS (
    SELECT c.id, c.status FROM conversations c JOIN targets t ON t.conversation_id = c.id
    WHERE c.status IN ('resolved', 'snoozed') AND c.platform <> 'workspace'
    ORDER BY c.id
    FOR UPDATE OF c
),
reopened AS (
    UPDATE conversations c
    SET status = 'open', snoozed_until = NULL, updated_at = now()
    FROM previous p
    WHERE c.id = p.id
    RETURNING c.id, c.version, c.assignee_id, p.status AS previous_status
),
activity AS (
    INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at, status,
                          source, is_system)
    SELECT %(tenant_id)s, r.id, {_ACTIVITY_EXTERNAL_ID}, 'outbound', 'text', %(content)s, clock_timestamp(),
           'sent', '{ACTIVITY_SOURCE}', true
    FROM reopened r
    ORDER BY r.id
    RETURNING id, conversation_id
)
SELECT r.id AS conversation_id, r.version, r.previous_status, r.assignee_id, a.id AS activity_message_id
FROM reopened r JOIN activity a ON a.conversation_id = r.id
ORDER BY r.id
"""


def reopen_after_inbound_messages(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, message_ids: Sequence[int], content: str
) -> list[Reopened]:
    """The conversations of these just-stored messages that a customer's message re-opens (system notices, e.g.
    "the customer changed their number", re-open nothing)."""
    if not message_ids:
        return []
    query = (
        """
        WITH targets AS (
            SELECT DISTINCT m.conversation_id FROM messages m
            WHERE m.tenant_id = %(tenant_id)s AND m.id = ANY(%(message_ids)s)
              AND m.direction = 'inbound' AND NOT m.is_system
        )
        """
        + _REOPEN
    )
    with conn.cursor(row_factory=class_row(Reopened)) as cursor:
        return cursor.execute(
            query, {"tenant_id": tenant_id, "message_ids": list(message_ids), "content": content}
        ).fetchall()


def reopen_after_ingested_messages(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    conversation_ids: Sequence[int],
    inbound_external_ids: Sequence[str],
    content: str,
) -> list[Reopened]:
    """As reopen_after_inbound_messages, for an ingest, which knows its messages by (conversation, external id):
    the ones this transaction stored carry its start time as created_at (a re-sent one keeps its first)."""
    if not conversation_ids:
        return []
    query = (
        """
        WITH targets AS (
            SELECT DISTINCT w.conversation_id
            FROM unnest(%(conversation_ids)s::bigint[], %(external_ids)s::text[]) AS w (conversation_id, external_id)
            JOIN messages m ON m.conversation_id = w.conversation_id AND m.external_id = w.external_id
            WHERE m.tenant_id = %(tenant_id)s AND m.direction = 'inbound' AND m.created_at = now()
        )
        """
        + _REOPEN
    )
    params = {
        "tenant_id": tenant_id,
        "conversation_ids": list(conversation_ids),
        "external_ids": list(inbound_external_ids),
        "content": content,
    }
    with conn.cursor(row_factory=class_row(Reopened)) as cursor:
        return cursor.execute(query, params).fetchall()


def wake_due_snoozes(conn: psycopg.Connection[Any], *, tenant_id: UUID, limit: int, content: str) -> list[Reopened]:
    """Re-open up to `limit` of the tenant's conversations whose snooze has ended (the soonest due first; rows
    another run holds are skipped, it wakes them)."""
    query = (
        """
        WITH targets AS (
            SELECT c.id AS conversation_id FROM conversations c
            WHERE c.tenant_id = %(tenant_id)s AND c.snoozed_until IS NOT NULL AND c.snoozed_until <= now()
            ORDER BY c.snoozed_until, c.id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        """
        + _REOPEN
    )
    with conn.cursor(row_factory=class_row(Reopened)) as cursor:
        return cursor.execute(query, {"tenant_id": tenant_id, "limit": limit, "content": content}).fetchall()


@dataclass(frozen=True)
class InboxWork:
    tenant_id: UUID
    snoozes_due: bool
    queue_waiting: bool


def find_inbox_work(conn: psycopg.Connection[Any], *, limit: int) -> list[InboxWork]:
    """The tenants with inbox work due, across all tenants (the SECURITY DEFINER door of migration 0012)."""
    with conn.cursor(row_factory=class_row(InboxWork)) as cursor:
        return cursor.execute(
            "SELECT tenant_id, snoozes_due, queue_waiting FROM find_inbox_work(%s)", (limit,)
        ).fetchall()


def conversations_created_now(conn: psycopg.Connection[Any], message_ids: Sequence[int]) -> list[int]:
    """The conversations of these just-stored messages that this transaction created (a row inserted now carries
    the transaction's start time as created_at; one an upsert found already had an earlier one)."""
    rows = conn.execute(
        """
        SELECT DISTINCT c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.id = ANY(%s) AND c.created_at = now() AND c.platform <> 'workspace'
        ORDER BY c.id
        """,
        (list(message_ids),),
    ).fetchall()
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class InboundFollowUp:
    """What the steps after an inbound write's commit will need, read inside its transaction (one small query in
    a round trip the write pays anyway), so that a step nobody needs costs nothing after the commit."""

    # The tenant, or one of its teams, auto-assigns: otherwise no new or re-opened conversation is handed out.
    auto_assigns: bool
    # Some WebSocket connection of the tenant subscribes to something (any topic, expired or not): otherwise no
    # frame has anyone to go to.
    anyone_subscribed: bool
    # The tenant has an active webhook subscription: the write's deliveries (written by the event log's fan-out in
    # its transaction) must be handed to the dispatcher's queue after the commit, frames or not.
    anyone_hooked: bool


def find_inbound_follow_up(conn: psycopg.Connection[Any], tenant_id: UUID) -> InboundFollowUp:
    with conn.cursor(row_factory=class_row(InboundFollowUp)) as cursor:
        row = cursor.execute(
            """
            SELECT COALESCE((SELECT t.auto_assign FROM tenants t WHERE t.id = %(tenant_id)s), false)
                   OR EXISTS (SELECT 1 FROM teams m WHERE m.tenant_id = %(tenant_id)s AND m.auto_assign)
                       AS auto_assigns,
                   EXISTS (SELECT 1 FROM websocket_subscriptions s WHERE s.tenant_id = %(tenant_id)s)
                       AS anyone_subscribed,
                   EXISTS (SELECT 1 FROM webhook_subscriptions w WHERE w.tenant_id = %(tenant_id)s AND w.is_active)
                       AS anyone_hooked
            """,
            {"tenant_id": tenant_id},
        ).fetchone()
    assert row is not None
    return row
