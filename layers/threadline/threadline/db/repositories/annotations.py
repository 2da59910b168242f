"""Labels, private notes and read horizons: the SQL (migration 0011's tables, 0013's counters).

Every query runs as the transaction's tenant (RLS): another tenant's conversation, label or message is simply not
there. Label counts and unread counters are kept by triggers (0013), so nothing here counts a tenant's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.db.repositories.messages import MessageRow
from threadline.vocabulary import Platform, ReadReceipts

# Countable messages (0013's messages_countable_idx predicate, written the same way so the planner uses it).
_COUNTABLE = "((m.direction = 'inbound' AND NOT m.is_system) OR m.is_private)"


@dataclass(frozen=True)
class LockedConversation:
    id: int
    version: int


def lock_conversation(conn: psycopg.Connection[Any], conversation_id: int) -> LockedConversation | None:
    """Lock the conversation row for the rest of the transaction: two agents changing its labels at once take
    turns, so neither can push it over the cap or lose the other's change half-way. Only the inbox's conversations
    carry labels (a workspace chat session is not found here), so a label's kept conversation_count is exactly
    what the inbox list filtered by that label holds."""
    with conn.cursor(row_factory=class_row(LockedConversation)) as cursor:
        return cursor.execute(
            "SELECT id, version FROM conversations WHERE id = %s AND platform <> 'workspace' FOR UPDATE",
            (conversation_id,),
        ).fetchone()


def ensure_labels(conn: psycopg.Connection[Any], tenant_id: UUID, names: Sequence[str]) -> None:
    """Create the labels the tenant does not have yet, matched case-insensitively. A concurrent creator of the same
    name wins the unique index and this insert skips it: the name's first spelling stays."""
    conn.execute(
        """
        INSERT INTO labels (tenant_id, name)
        SELECT %(tenant_id)s, name FROM unnest(%(names)s::text[]) AS wanted (name)
        ORDER BY lower(name)
        ON CONFLICT (tenant_id, lower(name)) DO NOTHING
        """,
        {"tenant_id": tenant_id, "names": list(names)},
    )


@dataclass(frozen=True)
class LabelChange:
    added: list[str]
    removed: list[str]


def replace_conversation_labels(
    conn: psycopg.Connection[Any], tenant_id: UUID, conversation_id: int, names: Sequence[str]
) -> LabelChange:
    """Make the conversation's labels exactly `names` (which must exist: ensure_labels first), in one statement;
    what was added and removed, by the labels' stored names. Names are matched by the database's lower() on both
    sides, as ensure_labels' unique index matches them (Python's str.lower differs for İ and a final Σ), and two
    names that are one label there count once, at the first one's position."""
    row = conn.execute(
        """
        WITH wanted AS (
            SELECT DISTINCT ON (l.id) l.id, l.name, w.position
            FROM unnest(%(names)s::text[]) WITH ORDINALITY AS w (name, position)
            JOIN labels l ON l.tenant_id = %(tenant_id)s AND lower(l.name) = lower(w.name)
            ORDER BY l.id, w.position
        ),
        removed AS (
            DELETE FROM conversation_labels cl
            WHERE cl.tenant_id = %(tenant_id)s AND cl.conversation_id = %(conversation_id)s
              AND cl.label_id NOT IN (SELECT id FROM wanted)
            RETURNING cl.label_id
        ),
        added AS (
            -- Each added label a moment later than the one before it, so the set reads back in request order.
            INSERT INTO conversation_labels (tenant_id, conversation_id, label_id, created_at)
            SELECT %(tenant_id)s, %(conversation_id)s, id, clock_timestamp() + position * interval '1 microsecond'
            FROM wanted ORDER BY position
            ON CONFLICT (conversation_id, label_id) DO NOTHING
            RETURNING label_id
        )
        SELECT
            (SELECT coalesce(array_agg(w.name ORDER BY w.position), '{}') FROM added a JOIN wanted w ON w.id = a.label_id),
            (SELECT coalesce(array_agg(l.name ORDER BY lower(l.name)), '{}') FROM removed r JOIN labels l ON l.id = r.label_id)
        """,
        {"tenant_id": tenant_id, "conversation_id": conversation_id, "names": list(names)},
    ).fetchone()
    assert row is not None
    return LabelChange(added=list(row[0]), removed=list(row[1]))


def conversation_label_names(conn: psycopg.Connection[Any], tenant_id: UUID, conversation_id: int) -> list[str]:
    rows = conn.execute(
        """
        SELECT l.name FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
        WHERE cl.tenant_id = %s AND cl.conversation_id = %s
        ORDER BY cl.created_at, lower(l.name)
        """,
        (tenant_id, conversation_id),
    ).fetchall()
    return [row[0] for row in rows]


def bump_conversation_version(conn: psycopg.Connection[Any], conversation_id: int) -> int:
    """An agent changed the conversation outside the columns 0011's trigger watches (its labels)."""
    row = conn.execute(
        "UPDATE conversations SET version = version + 1, updated_at = now() WHERE id = %s RETURNING version",
        (conversation_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class LabelRow:
    id: UUID
    name: str
    conversation_count: int


def list_labels(conn: psycopg.Connection[Any]) -> list[LabelRow]:
    with conn.cursor(row_factory=class_row(LabelRow)) as cursor:
        return cursor.execute("SELECT id, name, conversation_count FROM labels ORDER BY lower(name), id").fetchall()


@dataclass(frozen=True)
class WrittenMessage(MessageRow):
    """A message an agent just wrote (a note or an activity message), with what frames show of it."""

    conversation_id: int
    external_id: str
    source: str


_WRITTEN_COLUMNS = """
    m.id, m.direction, m.type, m.content, m.status, m.is_system, m.is_private, m.sent_at, m.created_at,
    m.media_url, m.media_mime_type, m.media_filename, m.media_size_bytes,
    m.error_code, m.error_title, m.error_details,
    m.pricing, message_is_billable(m.pricing) AS charged, m.billing_conversation,
    m.author_user_id, u.name AS author_name, u.avatar_url AS author_avatar_url,
    m.details, m.referral, m.forwarded, m.frequently_forwarded,
    NULL::bigint AS quoted_id, NULL::text AS quoted_content, NULL::text AS quoted_direction,
    NULL::boolean AS quoted_is_system, NULL::uuid AS quoted_author_user_id, NULL::text AS quoted_author_name,
    NULL::text AS quoted_author_avatar_url, '[]'::jsonb AS reactions, m.edited_at, m.deleted_at,
    m.conversation_id, m.external_id, m.source
"""


def _insert_agent_message(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    conversation_id: int,
    author_user_id: UUID,
    content: str,
    kind: str,
) -> WrittenMessage:
    # Neither moves last_message_*: the conversation's latest activity is what the customer saw (notes and
    # activity are internal). Both are final as written (`sent`): no channel will report on them.
    is_private, is_system, prefix = {"note": (True, False, "note"), "activity": (False, True, "act")}[kind]
    with conn.cursor(row_factory=class_row(WrittenMessage)) as cursor:
        row = cursor.execute(
            f"""
            WITH m AS (
                INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, sent_at,
                                      status, source, author_user_id, is_private, is_system)
                VALUES (%(tenant_id)s, %(conversation_id)s, %(external_id)s, 'outbound', 'text', %(content)s, now(),
                        'sent', %(source)s, %(author_user_id)s, %(is_private)s, %(is_system)s)
                RETURNING *
            )
            SELECT {_WRITTEN_COLUMNS} FROM m LEFT JOIN users u ON u.id = m.author_user_id
            """,
            {
                "tenant_id": tenant_id,
                "conversation_id": conversation_id,
                "external_id": f"{prefix}_{uuid.uuid4().hex}",
                "content": content,
                "source": kind,
                "author_user_id": author_user_id,
                "is_private": is_private,
                "is_system": is_system,
            },
        ).fetchone()
    assert row is not None
    return row


def insert_note(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, conversation_id: int, author_user_id: UUID, content: str
) -> WrittenMessage:
    """A private note: a message agents write for each other, never sent to any channel."""
    return _insert_agent_message(
        conn,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        author_user_id=author_user_id,
        content=content,
        kind="note",
    )


def insert_activity_message(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, conversation_id: int, author_user_id: UUID, content: str
) -> WrittenMessage:
    """A system message saying what an agent changed ("Ana added labels vip")."""
    return _insert_agent_message(
        conn,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        author_user_id=author_user_id,
        content=content,
        kind="activity",
    )


# ---------------------------------------------------------------------------------------------------------------
# Read horizons
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HorizonMove:
    previous_message_id: int | None  # the horizon before (None: the agent had none)
    last_read_message_id: int | None  # after (None: the conversation has no messages)
    unread_count: int


def newest_message_id(conn: psycopg.Connection[Any], tenant_id: UUID, conversation_id: int) -> int | None:
    """The id that covers every message of the conversation: the newest on the timeline, or a countable message
    that arrived later with an older sent_at (a backfill), whichever id is higher. Two index probes."""
    row = conn.execute(
        f"""
        SELECT GREATEST(
            (SELECT id FROM messages WHERE tenant_id = %(tenant_id)s AND conversation_id = %(conversation_id)s
             ORDER BY sent_at DESC, id DESC LIMIT 1),
            (SELECT m.id FROM messages m WHERE m.tenant_id = %(tenant_id)s AND m.conversation_id = %(conversation_id)s
               AND {_COUNTABLE} ORDER BY m.id DESC LIMIT 1))
        """,
        {"tenant_id": tenant_id, "conversation_id": conversation_id},
    ).fetchone()
    return None if row is None else row[0]


def message_in_conversation(conn: psycopg.Connection[Any], conversation_id: int, message_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM messages WHERE id = %s AND conversation_id = %s", (message_id, conversation_id)
    ).fetchone()
    return row is not None


def move_read_horizon(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, conversation_id: int, user_id: UUID, up_to_message_id: int
) -> HorizonMove:
    """Move the agent's horizon to `up_to_message_id` unless it already lies there or beyond (never backwards).
    What the agent has seen is every countable message but those that arrived after the horizon: a count of just
    the messages still unread (none when reading up to the newest)."""
    row = conn.execute(
        f"""
        WITH previous AS (
            SELECT last_read_message_id FROM conversation_reads
            WHERE conversation_id = %(conversation_id)s AND user_id = %(user_id)s
        ),
        moved AS (
            INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, last_read_message_id,
                                                 countable_seen)
            SELECT %(tenant_id)s, c.id, %(user_id)s, %(up_to)s,
                   c.countable_count - (
                       SELECT count(*) FROM messages m
                       WHERE m.tenant_id = %(tenant_id)s AND m.conversation_id = c.id AND m.id > %(up_to)s
                         AND {_COUNTABLE})
            FROM conversations c WHERE c.id = %(conversation_id)s
            ON CONFLICT (conversation_id, user_id) DO UPDATE
            SET last_read_message_id = EXCLUDED.last_read_message_id,
                countable_seen = EXCLUDED.countable_seen,
                updated_at = now()
            WHERE EXCLUDED.last_read_message_id >= r.last_read_message_id
            RETURNING last_read_message_id, countable_seen
        )
        SELECT (SELECT last_read_message_id FROM previous),
               coalesce((SELECT last_read_message_id FROM moved), (SELECT last_read_message_id FROM previous)),
               (SELECT countable_seen FROM moved)
        """,
        {"tenant_id": tenant_id, "conversation_id": conversation_id, "user_id": user_id, "up_to": up_to_message_id},
    ).fetchone()
    assert row is not None
    previous, horizon, _ = row
    return HorizonMove(previous, horizon, unread_count(conn, conversation_id, user_id))


def unread_count(conn: psycopg.Connection[Any], conversation_id: int, user_id: UUID | None) -> int:
    """The agent's unread count, as the conversation list shows it."""
    row = conn.execute(
        """
        SELECT CASE WHEN r.user_id IS NULL THEN c.unread_count
                    ELSE GREATEST(c.countable_count - r.countable_seen, 0) END
        FROM conversations c
        LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = %s
        WHERE c.id = %s
        """,
        (user_id, conversation_id),
    ).fetchone()
    return 0 if row is None else int(row[0])


# ---------------------------------------------------------------------------------------------------------------
# Read receipts (WhatsApp's blue ticks)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiptTarget:
    policy: ReadReceipts
    platform: Platform | str
    phone_number_id: str | None
    wamid: str | None  # the newest inbound message to mark, None when there is none


def find_receipt_target(
    conn: psycopg.Connection[Any], conversation_id: int, *, after_id: int | None, up_to_id: int | None
) -> ReceiptTarget | None:
    """The tenant's policy, the conversation's channel and the newest inbound message Meta knows (it has a wamid)
    with an id in (after_id, up_to_id] (either bound open when None)."""
    with conn.cursor(row_factory=class_row(ReceiptTarget)) as cursor:
        return cursor.execute(
            """
            SELECT t.read_receipts AS policy, c.platform, n.phone_number_id,
                   (SELECT m.meta_id FROM messages m
                    WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id
                      AND m.direction = 'inbound' AND NOT m.is_system AND m.meta_id IS NOT NULL
                      AND (%(after_id)s::bigint IS NULL OR m.id > %(after_id)s)
                      AND (%(up_to_id)s::bigint IS NULL OR m.id <= %(up_to_id)s)
                    ORDER BY m.id DESC LIMIT 1) AS wamid
            FROM conversations c
            JOIN tenants t ON t.id = c.tenant_id
            LEFT JOIN connections n ON n.id = c.connection_id
            WHERE c.id = %(conversation_id)s
            """,
            {"conversation_id": conversation_id, "after_id": after_id, "up_to_id": up_to_id},
        ).fetchone()
