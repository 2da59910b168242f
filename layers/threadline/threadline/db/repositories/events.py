"""The event log's SQL (migration 0015): the catch-up page, the retention purge, the expiry job's window.closed
events, and the seq of the event behind each real-time frame. Appending is the triggers' work, never Python's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import EventType


@dataclass(frozen=True)
class EventRow:
    seq: int
    type: EventType  # written only by migration 0015's triggers and functions, from the vocabulary
    occurred_at: datetime
    conversation_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class EventPage:
    events: list[EventRow]
    # The tenant's last seq and the highest purged one, read in the same snapshot as the page.
    last_seq: int
    purged_through: int


def read_event_page(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    after: int,
    limit: int,
    conversation_id: int | None = None,
    types: Sequence[str] | None = None,
) -> EventPage:
    """Up to `limit` events after `after`, in seq order, with the head's counters, in one statement (one snapshot:
    every seq up to `last_seq` is committed and visible in it, because a seq is handed out under the head's lock)."""
    with conn.cursor() as cursor:
        row = cursor.execute(
            """
            SELECT coalesce(h.last_seq, 0), coalesce(h.purged_through, 0),
                   (SELECT coalesce(jsonb_agg(jsonb_build_array(e.seq, e.type, e.occurred_at, e.conversation_id, e.data)
                                              ORDER BY e.seq), '[]')
                    FROM (SELECT * FROM events e
                          WHERE e.tenant_id = %(tenant_id)s AND e.seq > %(after)s
                            AND (%(conversation_id)s::bigint IS NULL OR e.conversation_id = %(conversation_id)s)
                            AND (%(types)s::text[] IS NULL OR e.type = ANY (%(types)s::text[]))
                          ORDER BY e.seq LIMIT %(limit)s) e)
            FROM (SELECT 1) one
            LEFT JOIN event_log_heads h ON h.tenant_id = %(tenant_id)s
            """,
            {
                "tenant_id": tenant_id,
                "after": after,
                "limit": limit,
                "conversation_id": conversation_id,
                "types": list(types) if types else None,
            },
        ).fetchone()
    assert row is not None
    events = [
        EventRow(seq=seq, type=kind, occurred_at=datetime.fromisoformat(at), conversation_id=conv, data=data)
        for seq, kind, at, conv, data in row[2]
    ]
    return EventPage(events=events, last_seq=int(row[0]), purged_through=int(row[1]))


def purge_events(conn: psycopg.Connection[Any], *, older_than: datetime, limit: int) -> int:
    """Remove up to `limit` events older than `older_than`, across tenants (migration 0015's door)."""
    row = conn.execute("SELECT purge_events(%s, %s)", (older_than, limit)).fetchone()
    assert row is not None
    return int(row[0])


def append_window_closed_events(conn: psycopg.Connection[Any]) -> int:
    """window.closed for every window the expiry job's mark passed since the last call, across tenants."""
    row = conn.execute("SELECT append_window_closed_events()").fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class FrameEventKey:
    """Which event a frame shows: the newest event of `types` in `conversation_id` whose data has `match_value`
    under `match_key` (e.g. "message_id", "42"), or the newest of those types when `match_key` is None.
    `conversation_id` None looks among the tenant's newest events of any conversation (a session message, whose
    frame names no conversation)."""

    conversation_id: int | None
    types: tuple[str, ...]
    match_key: str | None = None
    match_value: str | None = None


@dataclass(frozen=True)
class _FoundSeq:
    position: int
    seq: int | None


# How far back a frame's event is looked for: a frame is published right after its write commits, so its event is
# among the newest of its conversation; the bound keeps a lookup for an event that is not there (purged) cheap.
FRAME_EVENT_LOOKBACK = 1_000


def find_frame_seqs(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, keys: Sequence[FrameEventKey]
) -> list[int | None]:
    """The seq of each key's event (None when none is found), in one statement."""
    if not keys:
        return []
    with conn.cursor(row_factory=class_row(_FoundSeq)) as cursor:
        rows = cursor.execute(
            """
            SELECT k.position, found.seq
            FROM unnest(%(conversations)s::bigint[], %(types)s::text[], %(match_keys)s::text[],
                        %(match_values)s::text[]) WITH ORDINALITY AS k (conversation_id, types, match_key, match_value,
                                                                        position)
            CROSS JOIN LATERAL (SELECT h.last_seq FROM event_log_heads h WHERE h.tenant_id = %(tenant_id)s) head
            LEFT JOIN LATERAL (
                -- Two branches so each uses its index: a conversation's events, or the tenant's newest without one.
                SELECT x.seq FROM (
                    (SELECT e.seq FROM events e
                     WHERE k.conversation_id IS NOT NULL AND e.tenant_id = %(tenant_id)s
                       AND e.conversation_id = k.conversation_id AND e.seq > head.last_seq - %(lookback)s
                       AND e.type = ANY (string_to_array(k.types, ','))
                       AND (k.match_key IS NULL OR e.data ->> k.match_key = k.match_value)
                     ORDER BY e.seq DESC LIMIT 1)
                    UNION ALL
                    (SELECT e.seq FROM events e
                     WHERE k.conversation_id IS NULL AND e.tenant_id = %(tenant_id)s
                       AND e.seq > head.last_seq - %(lookback)s
                       AND e.type = ANY (string_to_array(k.types, ','))
                       AND (k.match_key IS NULL OR e.data ->> k.match_key = k.match_value)
                     ORDER BY e.seq DESC LIMIT 1)
                ) x LIMIT 1
            ) found ON true
            ORDER BY k.position
            """,
            {
                "tenant_id": tenant_id,
                "conversations": [key.conversation_id for key in keys],
                "types": [",".join(key.types) for key in keys],
                "match_keys": [key.match_key for key in keys],
                "match_values": [key.match_value for key in keys],
                "lookback": FRAME_EVENT_LOOKBACK,
            },
        ).fetchall()
    found = {row.position: row.seq for row in rows}
    return [found.get(position) for position in range(1, len(keys) + 1)]
