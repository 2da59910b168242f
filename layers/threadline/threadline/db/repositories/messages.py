"""Reading a conversation's messages: its timeline, newest first by cursor or by page in either order.

Pages walk the timeline index (tenant_id, conversation_id, sent_at DESC, id DESC) forwards or backwards. A cursor
page seeks straight to its position; a numbered page skips its offset inside the index (the tenant is an index
column, so RLS needs no heap visit per skipped row), and only the rows it returns are read and joined to authors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from threadline.vocabulary import QUOTED_CHARS, Direction, SortOrder


@dataclass(frozen=True)
class TimelinePosition:
    """A message's place in the timeline: (sent_at, id)."""

    sent_at: datetime
    id: int


@dataclass(frozen=True)
class ConversationHeader:
    """What every message page needs about its conversation: the authors who are not agents, and the total."""

    id: int
    tenant_id: UUID
    tenant_name: str
    message_count: int
    contact_id: UUID
    contact_name: str | None
    contact_identifier: str
    contact_avatar_url: str | None


@dataclass(frozen=True)
class MessageRow:
    id: int
    direction: Direction
    type: str
    content: str
    status: str
    is_system: bool
    is_private: bool
    sent_at: datetime
    created_at: datetime
    media_url: str | None
    media_mime_type: str | None
    media_filename: str | None
    media_size_bytes: int | None
    error_code: int | None
    error_title: str | None
    error_details: str | None
    pricing: dict[str, Any] | None
    charged: bool
    billing_conversation: dict[str, Any] | None
    author_user_id: UUID | None
    author_name: str | None
    author_avatar_url: str | None
    details: dict[str, Any] | None
    referral: dict[str, Any] | None
    forwarded: bool
    frequently_forwarded: bool
    # The message this one quotes (None when it quotes none, or one Threadline does not know).
    quoted_id: int | None
    quoted_content: str | None
    quoted_direction: Direction | None
    quoted_is_system: bool | None
    quoted_author_user_id: UUID | None
    quoted_author_name: str | None
    quoted_author_avatar_url: str | None
    # message_reactions_json (migration 0034): [{emoji, by: {type, id, name}, at}], oldest first.
    reactions: list[dict[str, Any]]
    # When the customer last edited it, or deleted it (migration 0035; a deleted message's content is '').
    edited_at: datetime | None
    deleted_at: datetime | None


def find_conversation_header(conn: psycopg.Connection[Any], conversation_id: int) -> ConversationHeader | None:
    """None when the conversation does not exist or belongs to another tenant (RLS hides it): the same answer."""
    with conn.cursor(row_factory=class_row(ConversationHeader)) as cursor:
        return cursor.execute(
            """
            SELECT c.id, c.tenant_id, t.name AS tenant_name, c.message_count,
                   k.id AS contact_id, k.name AS contact_name, k.identifier AS contact_identifier,
                   k.avatar_url AS contact_avatar_url
            FROM conversations c
            JOIN contacts k ON k.id = c.contact_id
            JOIN tenants t ON t.id = c.tenant_id
            WHERE c.id = %s
            """,
            (conversation_id,),
        ).fetchone()


_ORDER = {
    "asc": sql.SQL("sent_at ASC, id ASC"),
    "desc": sql.SQL("sent_at DESC, id DESC"),
}

# A page's rows with their authors, and for each row the message it quotes (`reply_to_external_id`: a wamid, by its
# own id or a second one Meta gave it, or an external id of the same conversation): one index probe per quoting row.
_WITH_AUTHORS = f"""
    WITH page AS ({{page}})
    SELECT m.id, m.direction, m.type, m.content, m.status, m.is_system, m.is_private, m.sent_at, m.created_at,
           m.media_url, m.media_mime_type, m.media_filename, m.media_size_bytes,
           m.error_code, m.error_title, m.error_details,
           m.pricing, message_is_billable(m.pricing) AS charged, m.billing_conversation,
           m.author_user_id, u.name AS author_name, u.avatar_url AS author_avatar_url,
           m.details, m.referral, m.forwarded, m.frequently_forwarded,
           q.id AS quoted_id, left(q.content, {QUOTED_CHARS}) AS quoted_content, q.direction AS quoted_direction,
           q.is_system AS quoted_is_system, q.author_user_id AS quoted_author_user_id,
           qu.name AS quoted_author_name, qu.avatar_url AS quoted_author_avatar_url,
           message_reactions_json(m.id) AS reactions, m.edited_at, m.deleted_at
    FROM page p
    JOIN messages m ON m.id = p.id
    LEFT JOIN users u ON u.id = m.author_user_id
    -- Three index probes per quoting row (one OR would let the planner walk the tenant's messages and filter them).
    LEFT JOIN LATERAL (
        SELECT q.id, q.content, q.direction, q.is_system, q.author_user_id
        FROM messages q
        WHERE m.reply_to_external_id IS NOT NULL AND q.id = (
            SELECT min(found.id) FROM (
                SELECT f.id FROM messages f WHERE f.tenant_id = m.tenant_id AND f.meta_id = m.reply_to_external_id
                UNION ALL
                SELECT f.id FROM messages f
                WHERE f.conversation_id = m.conversation_id AND f.external_id = m.reply_to_external_id
                UNION ALL
                SELECT a.message_id FROM whatsapp_message_aliases a
                WHERE a.tenant_id = m.tenant_id AND a.meta_id = m.reply_to_external_id
            ) found
        )
    ) q ON true
    LEFT JOIN users qu ON qu.id = q.author_user_id
    ORDER BY {{outer_order}}
"""


def _page_with_authors(page: sql.Composable, order: SortOrder) -> sql.Composed:
    outer_order = sql.SQL("p.sent_at ASC, p.id ASC") if order == "asc" else sql.SQL("p.sent_at DESC, p.id DESC")
    return sql.SQL(_WITH_AUTHORS).format(page=page, outer_order=outer_order)


def list_messages_before(
    conn: psycopg.Connection[Any], conversation: ConversationHeader, *, before: TimelinePosition | None, limit: int
) -> list[MessageRow]:
    """Newest first, starting just older than `before` (or at the newest message)."""
    seek = sql.SQL("AND sent_at <= %(before_at)s AND (sent_at < %(before_at)s OR id < %(before_id)s)")
    page = sql.SQL(
        "SELECT id, sent_at FROM messages"
        " WHERE tenant_id = %(tenant_id)s AND conversation_id = %(conversation_id)s {seek}"
        " ORDER BY {order} LIMIT %(limit)s"
    ).format(seek=seek if before else sql.SQL(""), order=_ORDER["desc"])
    params = {
        "tenant_id": conversation.tenant_id,
        "conversation_id": conversation.id,
        "before_at": before.sent_at if before else None,
        "before_id": before.id if before else None,
        "limit": limit,
    }
    with conn.cursor(row_factory=class_row(MessageRow)) as cursor:
        return cursor.execute(_page_with_authors(page, "desc"), params).fetchall()


def list_messages_page(
    conn: psycopg.Connection[Any], conversation: ConversationHeader, *, order: SortOrder, offset: int, limit: int
) -> list[MessageRow]:
    """One numbered page in either order (oldest first for `asc`)."""
    page = sql.SQL(
        "SELECT id, sent_at FROM messages WHERE tenant_id = %(tenant_id)s AND conversation_id = %(conversation_id)s"
        " ORDER BY {order} OFFSET %(offset)s LIMIT %(limit)s"
    ).format(order=_ORDER[order])
    params = {"tenant_id": conversation.tenant_id, "conversation_id": conversation.id, "offset": offset, "limit": limit}
    with conn.cursor(row_factory=class_row(MessageRow)) as cursor:
        return cursor.execute(_page_with_authors(page, order), params).fetchall()


def count_billable_messages(conn: psycopg.Connection[Any], conversation_id: int) -> dict[str, int]:
    """A conversation's messages Meta charges for, by Meta's pricing category (migration 0050's partial index holds
    only those, so the count never reads the conversation's other messages). A category Meta did not name is
    counted under "unknown"."""
    rows = conn.execute(
        "SELECT COALESCE(pricing ->> 'category', 'unknown') AS category, count(*)::int"
        " FROM messages"
        " WHERE tenant_id = app_current_tenant() AND conversation_id = %s AND message_is_billable(pricing)"
        " GROUP BY 1 ORDER BY 1",
        (conversation_id,),
    ).fetchall()
    return {category: count for category, count in rows}
