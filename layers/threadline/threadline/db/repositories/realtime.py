"""The WebSocket connection registry and subscriptions, and the reads the real-time publishers need.

Everything runs under RLS as the transaction's tenant, except `find_connection`: a message on an open WebSocket
names only its connection, so that one lookup goes through the `find_websocket_connection` SECURITY DEFINER door.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import Topic


@dataclass(frozen=True)
class WebSocketConnection:
    connection_id: str
    tenant_id: UUID
    user_id: str


@dataclass(frozen=True)
class Subscriber:
    topic_id: str
    connection_id: str


@dataclass(frozen=True)
class WindowSubscriber:
    conversation_id: int
    contact_id: UUID
    connection_id: str


@dataclass(frozen=True)
class SubscriptionResult:
    # False when the connection is not (or no longer) registered for the transaction's tenant.
    connected: bool
    subscribed: bool


@dataclass(frozen=True)
class RealtimeMessage:
    """A message as real-time frames show it."""

    id: int
    conversation_id: int
    external_id: str
    direction: str
    type: str
    content: str
    media_url: str | None
    status: str
    source: str
    sent_at: datetime
    created_at: datetime
    error_code: int | None
    error_title: str | None
    # A private note (agents only); frames of other messages never carry one.
    is_private: bool = False


def insert_connection(
    conn: psycopg.Connection[Any], *, connection_id: str, tenant_id: UUID, user_id: str, lifetime: timedelta
) -> None:
    """Register an open connection. The tenant's connections whose lifetime ran out go at the same time: API
    Gateway has closed them, whether or not their $disconnect reached us."""
    conn.execute(
        """
        WITH expired AS (
            DELETE FROM websocket_connections WHERE tenant_id = %(tenant_id)s AND expires_at < now()
        )
        INSERT INTO websocket_connections (connection_id, tenant_id, user_id, expires_at)
        VALUES (%(connection_id)s, %(tenant_id)s, %(user_id)s, now() + %(lifetime)s)
        ON CONFLICT (connection_id) DO NOTHING
        """,
        {"connection_id": connection_id, "tenant_id": tenant_id, "user_id": user_id, "lifetime": lifetime},
    )


def find_connection(conn: psycopg.Connection[Any], connection_id: str) -> WebSocketConnection | None:
    with conn.cursor(row_factory=class_row(WebSocketConnection)) as cursor:
        return cursor.execute(
            "SELECT connection_id, tenant_id, user_id FROM find_websocket_connection(%s)", (connection_id,)
        ).fetchone()


def delete_connections(conn: psycopg.Connection[Any], connection_ids: Sequence[str]) -> int:
    """Forget connections (and, by cascade, their subscriptions); returns how many were registered."""
    cursor = conn.execute("DELETE FROM websocket_connections WHERE connection_id = ANY(%s)", (list(connection_ids),))
    return cursor.rowcount


def insert_subscription(
    conn: psycopg.Connection[Any], *, connection_id: str, topic: Topic, topic_id: str, limit: int
) -> SubscriptionResult:
    """Subscribe the connection, under its own tenant, unless it already holds `limit` subscriptions. Subscribing
    twice is not an error."""
    with conn.cursor(row_factory=class_row(SubscriptionResult)) as cursor:
        row = cursor.execute(
            """
            WITH owner AS (
                SELECT tenant_id, connection_id FROM websocket_connections WHERE connection_id = %(connection_id)s
            ),
            existing AS (
                SELECT topic, topic_id FROM websocket_subscriptions WHERE connection_id = %(connection_id)s
            ),
            added AS (
                INSERT INTO websocket_subscriptions (tenant_id, connection_id, topic, topic_id)
                SELECT o.tenant_id, o.connection_id, %(topic)s, %(topic_id)s
                FROM owner o
                WHERE (SELECT count(*) FROM existing) < %(limit)s
                ON CONFLICT (connection_id, topic, topic_id) DO NOTHING
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM owner) AS connected,
                   EXISTS (SELECT 1 FROM added)
                   OR EXISTS (SELECT 1 FROM existing WHERE topic = %(topic)s AND topic_id = %(topic_id)s) AS subscribed
            """,
            {"connection_id": connection_id, "topic": topic, "topic_id": topic_id, "limit": limit},
        ).fetchone()
    assert row is not None
    return row


def delete_subscription(conn: psycopg.Connection[Any], *, connection_id: str, topic: Topic, topic_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM websocket_subscriptions WHERE connection_id = %s AND topic = %s AND topic_id = %s",
        (connection_id, topic, topic_id),
    )
    return cursor.rowcount > 0


def conversation_is_visible(conn: psycopg.Connection[Any], conversation_id: int) -> bool:
    """Whether the conversation exists for the transaction's tenant (RLS hides every other tenant's)."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM conversations WHERE id = %s)", (conversation_id,)).fetchone()
    return bool(row and row[0])


def find_session_id(conn: psycopg.Connection[Any], *, session_uuid: UUID | None, public_id: str) -> str | None:
    """The public id (`wses_...`) of the transaction's tenant's session with that uuid (when the client named one)
    or else that public id; None when there is none (RLS hides every other tenant's)."""
    if session_uuid is not None:
        row = conn.execute("SELECT public_id FROM workspace_sessions WHERE uuid = %s", (session_uuid,)).fetchone()
    else:
        row = conn.execute("SELECT public_id FROM workspace_sessions WHERE public_id = %s", (public_id,)).fetchone()
    return row[0] if row else None


def find_subscribers(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, topic: Topic, topic_ids: Sequence[str]
) -> list[Subscriber]:
    """The live connections subscribed to any of `topic_ids`: one range read of the topic index per id."""
    with conn.cursor(row_factory=class_row(Subscriber)) as cursor:
        return cursor.execute(
            """
            SELECT s.topic_id, s.connection_id
            FROM websocket_subscriptions s
            JOIN websocket_connections c ON c.connection_id = s.connection_id
            WHERE s.tenant_id = %(tenant_id)s AND s.topic = %(topic)s AND s.topic_id = ANY(%(topic_ids)s)
              AND c.expires_at > now()
            ORDER BY s.connection_id, s.topic_id
            """,
            {"tenant_id": tenant_id, "topic": topic, "topic_ids": list(topic_ids)},
        ).fetchall()


def find_window_subscribers(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, conversation_ids: Sequence[int]
) -> list[WindowSubscriber]:
    """Live subscribers of these conversations (a window belongs to its conversation, on its own channel)."""
    with conn.cursor(row_factory=class_row(WindowSubscriber)) as cursor:
        return cursor.execute(
            """
            SELECT v.id AS conversation_id, v.contact_id, s.connection_id
            FROM conversations v
            JOIN websocket_subscriptions s
              ON s.tenant_id = v.tenant_id AND s.topic = 'conversation' AND s.topic_id = v.id::text
            JOIN websocket_connections c ON c.connection_id = s.connection_id
            WHERE v.tenant_id = %(tenant_id)s AND v.id = ANY(%(conversation_ids)s) AND c.expires_at > now()
            ORDER BY s.connection_id, v.id
            """,
            {"tenant_id": tenant_id, "conversation_ids": list(conversation_ids)},
        ).fetchall()


@dataclass(frozen=True)
class SubscribedMessage:
    connection_id: str
    message: RealtimeMessage


def find_subscribed_messages(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, message_ids: Sequence[int]
) -> list[SubscribedMessage]:
    """The messages among `message_ids` whose conversation has live subscribers, once per subscriber, each
    conversation's oldest first. Nobody subscribed: primary-key lookups of the ids and empty index probes."""
    rows = conn.execute(
        """
        SELECT s.connection_id, m.id, m.conversation_id, m.external_id, m.direction, m.type, m.content, m.media_url,
               m.status, m.source, m.sent_at, m.created_at, m.error_code, m.error_title, m.is_private
        FROM messages m
        JOIN websocket_subscriptions s
          ON s.tenant_id = m.tenant_id AND s.topic = 'conversation' AND s.topic_id = m.conversation_id::text
        JOIN websocket_connections c ON c.connection_id = s.connection_id
        WHERE m.tenant_id = %(tenant_id)s AND m.id = ANY(%(message_ids)s) AND c.expires_at > now()
        ORDER BY s.connection_id, m.conversation_id, m.sent_at, m.id
        """,
        {"tenant_id": tenant_id, "message_ids": list(message_ids)},
    ).fetchall()
    return [SubscribedMessage(row[0], RealtimeMessage(*row[1:])) for row in rows]


@dataclass(frozen=True)
class SubscribedReactions:
    """A message's reactions now (message_reactions_json, migration 0034), for one subscriber of its conversation."""

    connection_id: str
    conversation_id: int
    message_id: int
    reactions: list[dict[str, Any]]


def find_subscribed_reactions(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, message_ids: Sequence[int]
) -> list[SubscribedReactions]:
    """The reactions of those of `message_ids` whose conversation has live subscribers, once per subscriber."""
    with conn.cursor(row_factory=class_row(SubscribedReactions)) as cursor:
        return cursor.execute(
            """
            SELECT s.connection_id, m.conversation_id, m.id AS message_id, message_reactions_json(m.id) AS reactions
            FROM messages m
            JOIN websocket_subscriptions s
              ON s.tenant_id = m.tenant_id AND s.topic = 'conversation' AND s.topic_id = m.conversation_id::text
            JOIN websocket_connections c ON c.connection_id = s.connection_id
            WHERE m.tenant_id = %(tenant_id)s AND m.id = ANY(%(message_ids)s) AND c.expires_at > now()
            ORDER BY s.connection_id, m.conversation_id, m.id
            """,
            {"tenant_id": tenant_id, "message_ids": list(message_ids)},
        ).fetchall()


def find_newly_stored_messages(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    conversation_ids: Sequence[int],
    external_ids: Sequence[str],
    added_counts: dict[int, int],
) -> list[RealtimeMessage]:
    """The messages a write just stored, among the (conversation_id, external_id) pairs it carried.

    A write that deduplicates (ingest) knows only how many rows of each conversation were new, not which. The new
    rows are the `added` most recent by created_at, which is the writing transaction's start time: rows stored
    earlier by other transactions carry an earlier one. Oldest first, as a timeline is read."""
    with conn.cursor(row_factory=class_row(RealtimeMessage)) as cursor:
        return cursor.execute(
            """
            WITH wanted AS (
                SELECT DISTINCT conversation_id, external_id
                FROM unnest(%(conversation_ids)s::bigint[], %(external_ids)s::text[]) AS w (conversation_id, external_id)
            ),
            added AS (
                SELECT * FROM unnest(%(added_conversations)s::bigint[], %(added_counts)s::int[])
                    AS a (conversation_id, messages_added)
            ),
            ranked AS (
                SELECT m.*, row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.created_at DESC, m.id DESC)
                           AS recency
                FROM wanted w
                JOIN messages m ON m.conversation_id = w.conversation_id AND m.external_id = w.external_id
                WHERE m.tenant_id = %(tenant_id)s
            )
            SELECT r.id, r.conversation_id, r.external_id, r.direction, r.type, r.content, r.media_url, r.status,
                   r.source, r.sent_at, r.created_at, r.error_code, r.error_title, r.is_private
            FROM ranked r JOIN added a USING (conversation_id)
            WHERE r.recency <= a.messages_added
            ORDER BY r.conversation_id, r.sent_at, r.id
            """,
            {
                "tenant_id": tenant_id,
                "conversation_ids": list(conversation_ids),
                "external_ids": list(external_ids),
                "added_conversations": list(added_counts),
                "added_counts": list(added_counts.values()),
            },
        ).fetchall()
