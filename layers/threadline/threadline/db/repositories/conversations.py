"""Reading conversations: the tenant's list (newest activity first) and one conversation with its channel.

Every list query filters with plain equalities on the leading columns of one of the activity indexes
(migration 0005) and orders by that index's trailing columns, so PostgreSQL reads a page as one index range:
a cursor (keyset) page costs what the first page costs. Only the page's rows are joined to their contacts;
rows skipped by an offset are read from the index alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from threadline.vocabulary import Platform, Priority


@dataclass(frozen=True)
class ConversationFilters:
    status: str | None = None
    location_id: UUID | None = None


@dataclass(frozen=True)
class ActivityPosition:
    """A conversation's place in the list order: last_message_at DESC NULLS LAST, id DESC."""

    last_message_at: datetime | None
    id: int


@dataclass(frozen=True)
class ConversationRow:
    id: int
    platform: Platform
    status: str
    location_id: UUID | None
    last_message_at: datetime | None
    last_message_preview: str | None
    unread_count: int
    contact_id: UUID
    contact_name: str | None
    contact_identifier: str
    contact_avatar_url: str | None
    # The reply window (migration 0018): the conversation's, by its connection's rule (or its platform's default
    # when it has no connection).
    window_expires_at: datetime | None
    replies_in_window: int
    has_connection: bool
    reply_window_hours: int | None
    max_replies_per_window: int | None


@dataclass(frozen=True)
class ConversationDetailRow(ConversationRow):
    external_conversation_id: str
    message_count: int
    created_at: datetime
    updated_at: datetime
    connection_id: str | None
    connection_platform: Platform | None
    connection_phone_number_id: str | None
    connection_is_active: bool | None
    location_name: str | None
    # Lifecycle and ownership.
    snoozed_until: datetime | None
    priority: Priority | None
    version: int
    assignee_id: UUID | None
    assignee_name: str | None
    assignee_avatar_url: str | None
    team_id: UUID | None
    team_name: str | None


# The reader's own unread count (migration 0013): countable messages (inbound, and other agents' notes) that
# arrived after the reader's horizon, as the difference of two counters, so a list page costs one primary-key probe
# of conversation_reads per row and no count. A reader who never read or wrote in the conversation (and a token
# without a user) gets the shared count: customer messages since the last reply. Every query that selects it
# joins READER_JOIN and passes %(reader_id)s.
UNREAD_FOR_READER = sql.SQL(
    "CASE WHEN r.user_id IS NULL THEN c.unread_count"
    " ELSE GREATEST(c.countable_count - r.countable_seen, 0) END AS unread_count"
)
READER_JOIN = sql.SQL("LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = %(reader_id)s")

_ROW_COLUMNS = sql.SQL("""
    c.id, c.platform, c.status, c.location_id, c.last_message_at, c.last_message_preview, {unread},
    k.id AS contact_id, k.name AS contact_name, k.identifier AS contact_identifier,
    k.avatar_url AS contact_avatar_url,
    c.window_expires_at, c.replies_in_window, (n.id IS NOT NULL) AS has_connection, n.reply_window_hours,
    n.max_replies_per_window
""").format(unread=UNREAD_FOR_READER)
# Every query that selects _ROW_COLUMNS joins its connection as `n` (the reply rule's columns).
_CONNECTION_JOIN = sql.SQL("LEFT JOIN connections n ON n.id = c.connection_id")

_LIST_ORDER = sql.SQL("last_message_at DESC NULLS LAST, id DESC")


def _filter_predicates(filters: ConversationFilters) -> list[sql.Composable]:
    # Equalities only, in index-column order: each combination matches one activity index's leading columns.
    # Workspace chat sessions are conversations of the same store, but not the inbox's (the indexes are partial).
    predicates: list[sql.Composable] = [sql.SQL("tenant_id = %(tenant_id)s"), sql.SQL("platform <> 'workspace'")]
    if filters.location_id is not None:
        predicates.append(sql.SQL("location_id = %(location_id)s"))
    if filters.status is not None:
        predicates.append(sql.SQL("status = %(status)s"))
    return predicates


def _positions_query(filters: ConversationFilters, after: ActivityPosition | None) -> sql.Composable:
    """The ids and sort keys of one page, read from the activity index alone."""
    predicates = _filter_predicates(filters)

    def branch(extra: list[sql.Composable]) -> sql.Composable:
        return sql.SQL(
            "SELECT id, last_message_at FROM conversations WHERE {where} ORDER BY {order} LIMIT %(limit)s"
        ).format(where=sql.SQL(" AND ").join(predicates + extra), order=_LIST_ORDER)

    if after is None:
        return sql.SQL("{first} OFFSET %(offset)s").format(first=branch([]))
    if after.last_message_at is None:
        # Already among the conversations without messages, which sort last.
        return branch([sql.SQL("last_message_at IS NULL AND id < %(after_id)s")])
    # After a dated position come the older dated rows, then every undated one. Two index ranges, merged in order:
    # an OR of the two would make PostgreSQL filter the tenant's rows from the top instead of seeking.
    return sql.SQL("({dated}) UNION ALL ({undated}) ORDER BY {order} LIMIT %(limit)s").format(
        dated=branch(
            [
                sql.SQL("last_message_at <= %(after_at)s"),
                sql.SQL("(last_message_at < %(after_at)s OR id < %(after_id)s)"),
            ]
        ),
        undated=branch([sql.SQL("last_message_at IS NULL")]),
        order=_LIST_ORDER,
    )


def list_conversations(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    filters: ConversationFilters,
    after: ActivityPosition | None,
    offset: int,
    limit: int,
    reader_id: UUID | None = None,
) -> list[ConversationRow]:
    """A page of conversations after `after` (a cursor) or after skipping `offset` rows; never both."""
    query = sql.SQL("""
        WITH page AS ({positions})
        SELECT {columns}
        FROM page p
        JOIN conversations c ON c.id = p.id
        JOIN contacts k ON k.id = c.contact_id
        {connection}
        {reader}
        ORDER BY p.last_message_at DESC NULLS LAST, p.id DESC
    """).format(
        positions=_positions_query(filters, after),
        columns=_ROW_COLUMNS,
        connection=_CONNECTION_JOIN,
        reader=READER_JOIN,
    )
    params = {
        "tenant_id": tenant_id,
        "status": filters.status,
        "location_id": filters.location_id,
        "after_at": after.last_message_at if after else None,
        "after_id": after.id if after else None,
        "offset": offset,
        "limit": limit,
        "reader_id": reader_id,
    }
    with conn.cursor(row_factory=class_row(ConversationRow)) as cursor:
        return cursor.execute(query, params).fetchall()


def count_conversations(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, filters: ConversationFilters, cap: int
) -> int:
    """How many conversations match, counting no further than `cap` (so never more than `cap` index entries)."""
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM conversations WHERE {where} LIMIT %(cap)s) matching").format(
        where=sql.SQL(" AND ").join(_filter_predicates(filters))
    )
    row = conn.execute(
        query, {"tenant_id": tenant_id, "status": filters.status, "location_id": filters.location_id, "cap": cap}
    ).fetchone()
    assert row is not None
    return int(row[0])


def find_conversation(
    conn: psycopg.Connection[Any], conversation_id: int, *, reader_id: UUID | None = None
) -> ConversationDetailRow | None:
    """One conversation with its contact, connection and location, its unread count `reader_id`'s; None when RLS
    hides it or it does not exist."""
    query = sql.SQL("""
        SELECT {columns},
               c.external_conversation_id, c.message_count, c.created_at, c.updated_at,
               n.connection_id, n.platform AS connection_platform, n.phone_number_id AS connection_phone_number_id,
               n.is_active AS connection_is_active, l.name AS location_name,
               c.snoozed_until, c.priority, c.version,
               c.assignee_id, u.name AS assignee_name, u.avatar_url AS assignee_avatar_url,
               c.team_id, t.name AS team_name
        FROM conversations c
        JOIN contacts k ON k.id = c.contact_id
        {connection}
        LEFT JOIN locations l ON l.id = c.location_id
        LEFT JOIN users u ON u.id = c.assignee_id
        LEFT JOIN teams t ON t.id = c.team_id
        {reader}
        WHERE c.id = %(conversation_id)s
    """).format(columns=_ROW_COLUMNS, connection=_CONNECTION_JOIN, reader=READER_JOIN)
    with conn.cursor(row_factory=class_row(ConversationDetailRow)) as cursor:
        return cursor.execute(query, {"conversation_id": conversation_id, "reader_id": reader_id}).fetchone()
