"""Reading conversations: the tenant's list (in one of three orders, narrowed by filters) and one conversation
with its channel.

A page is read in two steps: the ids and sort keys of the page from one index walk in the sort's order (the
activity indexes of 0005, the waiting and priority indexes of 0014), then only the page's rows joined to their
contact, assignee, team and labels. A cursor (keyset) page continues the walk from the last row's keys, so it
costs what the first page costs; rows skipped by an offset are read from the index alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from threadline.vocabulary import ConversationSort, Platform, Priority

# As the generated priority_rank column computes it (migration 0011); NULL priority is rank 0.
PRIORITY_RANKS = {"urgent": 4, "high": 3, "medium": 2, "low": 1}


@dataclass(frozen=True)
class ConversationFilters:
    """What the list is narrowed to; empty/None = no narrowing. `assignee_id` and `unassigned` exclude each other."""

    statuses: tuple[str, ...] = ()
    location_id: UUID | None = None
    assignee_id: UUID | None = None
    unassigned: bool = False
    team_id: UUID | None = None
    label_id: UUID | None = None
    priorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListPosition:
    """A conversation's place in the list's order: the sort's keys of the last row a client saw.

    last_activity: last_message_at DESC NULLS LAST, id DESC
    waiting_since: waiting_since ASC NULLS LAST, id ASC
    priority:      priority_rank DESC, last_message_at DESC NULLS LAST, id DESC
    """

    id: int
    last_message_at: datetime | None = None
    waiting_since: datetime | None = None
    priority_rank: int = 0


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
    # The inbox fields, the same for the list and the detail.
    priority: Priority | None
    priority_rank: int
    snoozed_until: datetime | None
    waiting_since: datetime | None
    assignee_id: UUID | None
    assignee_name: str | None
    assignee_avatar_url: str | None
    team_id: UUID | None
    team_name: str | None
    labels: list[str]


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
    version: int


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

# What every list item and the detail show. Assignee, team and labels are read for the page's rows only; the
# unread count is the reader's, so every query that selects these columns joins _ROW_JOINS (READER_JOIN among
# them) and passes %(reader_id)s.
_ROW_COLUMNS = sql.SQL("""
    c.id, c.platform, c.status, c.location_id, c.last_message_at, c.last_message_preview, {unread},
    k.id AS contact_id, k.name AS contact_name, k.identifier AS contact_identifier,
    k.avatar_url AS contact_avatar_url,
    c.window_expires_at, c.replies_in_window, (n.id IS NOT NULL) AS has_connection, n.reply_window_hours,
    n.max_replies_per_window,
    c.priority, c.priority_rank, c.snoozed_until, c.waiting_since,
    c.assignee_id, u.name AS assignee_name, u.avatar_url AS assignee_avatar_url,
    c.team_id, t.name AS team_name,
    ARRAY(SELECT l.name FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
          WHERE cl.conversation_id = c.id ORDER BY lower(l.name)) AS labels
""").format(unread=UNREAD_FOR_READER)
# Every query that selects _ROW_COLUMNS joins these: the contact, the connection as `n` (the reply rule's columns),
# the assignee and team, and the reader's own read horizon.
_ROW_JOINS = sql.SQL("""
    JOIN contacts k ON k.id = c.contact_id
    LEFT JOIN connections n ON n.id = c.connection_id
    LEFT JOIN users u ON u.id = c.assignee_id
    LEFT JOIN teams t ON t.id = c.team_id
    {reader}
""").format(reader=READER_JOIN)


@dataclass(frozen=True)
class _Sort:
    """One order of the list: its ORDER BY, the keys a page reads, and the keyset branches after a position."""

    order: sql.Composable
    keys: sql.Composable
    # The same order over the page's rows (their keys as the page read them).
    page_order: sql.Composable
    after: Callable[[ListPosition], list[list[sql.Composable]]]


def _after_activity(position: ListPosition) -> list[list[sql.Composable]]:
    if position.last_message_at is None:
        # Already among the conversations without messages, which sort last.
        return [[sql.SQL("last_message_at IS NULL AND id < %(after_id)s")]]
    # After a dated position come the older dated rows, then every undated one. Two index ranges, merged in order:
    # an OR of the two would make PostgreSQL filter the tenant's rows from the top instead of seeking.
    return [
        [sql.SQL("last_message_at <= %(after_at)s"), sql.SQL("(last_message_at < %(after_at)s OR id < %(after_id)s)")],
        [sql.SQL("last_message_at IS NULL")],
    ]


def _after_waiting(position: ListPosition) -> list[list[sql.Composable]]:
    if position.waiting_since is None:
        return [[sql.SQL("waiting_since IS NULL AND id > %(after_id)s")]]
    return [
        [
            sql.SQL("waiting_since >= %(after_waiting)s"),
            sql.SQL("(waiting_since > %(after_waiting)s OR id > %(after_id)s)"),
        ],
        [sql.SQL("waiting_since IS NULL")],
    ]


def _after_priority(position: ListPosition) -> list[list[sql.Composable]]:
    # The rest of the position's priority in activity order, then every lower priority.
    same_rank = sql.SQL("priority_rank = %(after_rank)s")
    return [[same_rank, *branch] for branch in _after_activity(position)] + [
        [sql.SQL("priority_rank < %(after_rank)s")]
    ]


SORTS: dict[ConversationSort, _Sort] = {
    "last_activity": _Sort(
        order=sql.SQL("last_message_at DESC NULLS LAST, id DESC"),
        keys=sql.SQL("id, last_message_at"),
        page_order=sql.SQL("p.last_message_at DESC NULLS LAST, p.id DESC"),
        after=_after_activity,
    ),
    "waiting_since": _Sort(
        order=sql.SQL("waiting_since ASC NULLS LAST, id ASC"),
        keys=sql.SQL("id, waiting_since"),
        page_order=sql.SQL("p.waiting_since ASC NULLS LAST, p.id ASC"),
        after=_after_waiting,
    ),
    "priority": _Sort(
        order=sql.SQL("priority_rank DESC, last_message_at DESC NULLS LAST, id DESC"),
        keys=sql.SQL("id, priority_rank, last_message_at"),
        page_order=sql.SQL("p.priority_rank DESC, p.last_message_at DESC NULLS LAST, p.id DESC"),
        after=_after_priority,
    ),
}


def _filter_predicates(filters: ConversationFilters) -> list[sql.Composable]:
    # Equalities on the leading columns of the list indexes (0005, 0014, 0021); the rest are filters the planner applies
    # while it walks one of them (make bench-read measures each). Workspace chat sessions are conversations of the
    # same store, but not the inbox's (the indexes are partial).
    predicates: list[sql.Composable] = [sql.SQL("tenant_id = %(tenant_id)s"), sql.SQL("platform <> 'workspace'")]
    if filters.location_id is not None:
        predicates.append(sql.SQL("location_id = %(location_id)s"))
    # The statuses as literals, not parameters: psycopg prepares a query after five runs and PostgreSQL may then
    # keep one generic plan for it, and a generic plan of `status = $1` can use no index partial on a status (the
    # unassigned queue's, 0012): unassigned + open then walked the tenant's open conversations checking each
    # (make bench-read: 16 ms a page instead of 1). A status is one of CONVERSATION_STATUSES (the model checks),
    # so there are few such queries.
    if len(filters.statuses) == 1:
        predicates.append(sql.SQL("status = {}").format(sql.Literal(filters.statuses[0])))
    elif filters.statuses:
        predicates.append(sql.SQL("status = ANY({}::text[])").format(sql.Literal(list(filters.statuses))))
    if filters.assignee_id is not None:
        predicates.append(sql.SQL("assignee_id = %(assignee_id)s"))
    if filters.unassigned:
        predicates.append(sql.SQL("assignee_id IS NULL"))
    if filters.team_id is not None:
        predicates.append(sql.SQL("team_id = %(team_id)s"))
    # On priority_rank, not priority: one rank is an equality on conversations_priority_activity_idx's leading
    # key, so the page is read in activity order from it.
    if len(filters.priorities) == 1:
        predicates.append(sql.SQL("priority_rank = %(priority_rank)s"))
    elif filters.priorities:
        predicates.append(sql.SQL("priority_rank = ANY(%(priority_ranks)s)"))
    if filters.label_id is not None:
        predicates.append(
            sql.SQL(
                "id IN (SELECT cl.conversation_id FROM conversation_labels cl"
                " WHERE cl.tenant_id = %(tenant_id)s AND cl.label_id = %(label_id)s)"
            )
        )
    return predicates


def _filter_parameters(tenant_id: UUID, filters: ConversationFilters) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "location_id": filters.location_id,
        "assignee_id": filters.assignee_id,
        "team_id": filters.team_id,
        "priority_rank": PRIORITY_RANKS[filters.priorities[0]] if filters.priorities else None,
        "priority_ranks": [PRIORITY_RANKS[priority] for priority in filters.priorities],
        "label_id": filters.label_id,
    }


def _positions_query(filters: ConversationFilters, sort: _Sort, after: ListPosition | None) -> sql.Composable:
    """The ids and sort keys of one page, read from a list index where one serves the filters."""
    predicates = _filter_predicates(filters)

    def branch(extra: list[sql.Composable]) -> sql.Composable:
        return sql.SQL("SELECT {keys} FROM conversations WHERE {where} ORDER BY {order} LIMIT %(limit)s").format(
            keys=sort.keys, where=sql.SQL(" AND ").join(predicates + extra), order=sort.order
        )

    if after is None:
        return sql.SQL("{first} OFFSET %(offset)s").format(first=branch([]))
    branches = [sql.SQL("({})").format(branch(extra)) for extra in sort.after(after)]
    if len(branches) == 1:
        return branches[0]
    return sql.SQL("{branches} ORDER BY {order} LIMIT %(limit)s").format(
        branches=sql.SQL(" UNION ALL ").join(branches), order=sort.order
    )


def list_conversations(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    filters: ConversationFilters,
    sort: ConversationSort,
    after: ListPosition | None,
    offset: int,
    limit: int,
    reader_id: UUID | None = None,
) -> list[ConversationRow]:
    """A page of conversations after `after` (a cursor) or after skipping `offset` rows; never both."""
    chosen = SORTS[sort]
    query = sql.SQL("""
        WITH page AS ({positions})
        SELECT {columns}
        FROM page p
        JOIN conversations c ON c.id = p.id
        {joins}
        ORDER BY {order}
    """).format(
        positions=_positions_query(filters, chosen, after),
        columns=_ROW_COLUMNS,
        joins=_ROW_JOINS,
        order=chosen.page_order,
    )
    params = _filter_parameters(tenant_id, filters) | {
        "after_at": after.last_message_at if after else None,
        "after_waiting": after.waiting_since if after else None,
        "after_rank": after.priority_rank if after else None,
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
    """How many conversations match, counting no further than `cap` (so never more than `cap` index entries). A
    list narrowed by a label alone reads the label's conversation_count, kept by the writes (migration 0013): a
    capped count would join the label's conversations against the tenant's whole list index."""
    if filters == ConversationFilters(label_id=filters.label_id) and filters.label_id is not None:
        kept = conn.execute("SELECT conversation_count FROM labels WHERE id = %s", (filters.label_id,)).fetchone()
        return min(int(kept[0]), cap) if kept else 0
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM conversations WHERE {where} LIMIT %(cap)s) matching").format(
        where=sql.SQL(" AND ").join(_filter_predicates(filters))
    )
    row = conn.execute(query, _filter_parameters(tenant_id, filters) | {"cap": cap}).fetchone()
    assert row is not None
    return int(row[0])


def find_label_id(conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str) -> UUID | None:
    """A label by name, matched case-insensitively (the labels_name_key index)."""
    row = conn.execute(
        "SELECT id FROM labels WHERE tenant_id = %s AND lower(name) = lower(%s)", (tenant_id, name)
    ).fetchone()
    return row[0] if row else None


def find_conversation(
    conn: psycopg.Connection[Any], conversation_id: int, *, reader_id: UUID | None = None
) -> ConversationDetailRow | None:
    """One conversation with its contact, connection and location, its unread count `reader_id`'s; None when RLS
    hides it or it does not exist."""
    query = sql.SQL("""
        SELECT {columns},
               c.external_conversation_id, c.message_count, c.created_at, c.updated_at,
               n.connection_id, n.platform AS connection_platform, n.phone_number_id AS connection_phone_number_id,
               n.is_active AS connection_is_active, l.name AS location_name, c.version
        FROM conversations c
        {joins}
        LEFT JOIN locations l ON l.id = c.location_id
        WHERE c.id = %(conversation_id)s
    """).format(columns=_ROW_COLUMNS, joins=_ROW_JOINS)
    with conn.cursor(row_factory=class_row(ConversationDetailRow)) as cursor:
        return cursor.execute(query, {"conversation_id": conversation_id, "reader_id": reader_id}).fetchone()
