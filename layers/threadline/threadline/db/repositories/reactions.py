"""Reactions on messages (migration 0034): the customer's, from their channel, and the business's, sent by an
agent. One reaction per side and message; a newer one replaces the older, an empty one removes it (kept as a row
without an emoji, so that an older reaction arriving late never brings it back). The table's trigger appends
`message.reactions_changed` for every message whose reactions changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class ReactionBatch:
    """Column-wise input: one entry per reaction the customer sent. `target_external_ids` name the message reacted
    to as the channel knows it (WhatsApp: its wamid, or a second wamid Meta gave it); `emojis` None removes."""

    target_external_ids: list[str] = field(default_factory=list)
    emojis: list[str | None] = field(default_factory=list)
    reacted_at: list[datetime] = field(default_factory=list)
    meta_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AppliedReactions:
    # The messages whose reactions changed (for the real-time feed).
    message_ids: list[int]
    # The reactions (by their own id) whose message Threadline does not know.
    unplaced_meta_ids: list[str]


_APPLY_CUSTOMER_REACTIONS = """
WITH
input AS (
    SELECT * FROM unnest(%(target_external_ids)s::text[], %(emojis)s::text[], %(reacted_at)s::timestamptz[],
                         %(meta_ids)s::text[])
        WITH ORDINALITY AS r (target, emoji, reacted_at, meta_id, position)
),
targets AS (
    SELECT r.position, r.emoji, r.reacted_at, r.meta_id, m.id AS message_id, m.conversation_id, v.contact_id
    FROM input r
    -- Two index probes (an OR would let the planner walk the tenant's messages).
    CROSS JOIN LATERAL (
        SELECT m.id, m.conversation_id FROM messages m
        WHERE m.id = COALESCE(
            (SELECT f.id FROM messages f WHERE f.tenant_id = %(tenant_id)s AND f.meta_id = r.target),
            (SELECT a.message_id FROM whatsapp_message_aliases a
             WHERE a.tenant_id = %(tenant_id)s AND a.meta_id = r.target))
    ) m
    JOIN conversations v ON v.id = m.conversation_id
),
-- Several reactions to one message in one delivery: the newest is the customer's reaction.
latest AS (
    SELECT DISTINCT ON (message_id) * FROM targets ORDER BY message_id, reacted_at DESC, position DESC
),
applied AS (
    INSERT INTO message_reactions AS x (tenant_id, message_id, conversation_id, side, emoji, contact_id, reacted_at,
                                        meta_id)
    SELECT %(tenant_id)s, l.message_id, l.conversation_id, 'customer', l.emoji, l.contact_id, l.reacted_at, l.meta_id
    FROM latest l
    ORDER BY l.message_id
    ON CONFLICT (message_id, side) DO UPDATE
    SET emoji = EXCLUDED.emoji, contact_id = EXCLUDED.contact_id, reacted_at = EXCLUDED.reacted_at,
        meta_id = EXCLUDED.meta_id, updated_at = now()
    WHERE EXCLUDED.reacted_at >= x.reacted_at AND EXCLUDED.emoji IS DISTINCT FROM x.emoji
    -- xmax is set on a row the upsert updated: a first removal (a new row without an emoji) shows nothing new.
    RETURNING x.message_id, x.emoji, (x.xmax <> 0) AS updated
)
SELECT ARRAY(SELECT message_id FROM applied WHERE emoji IS NOT NULL OR updated ORDER BY 1) AS message_ids,
       ARRAY(SELECT r.meta_id FROM input r
             WHERE NOT EXISTS (SELECT 1 FROM targets t WHERE t.position = r.position)
             ORDER BY r.position) AS unplaced_meta_ids
"""


def apply_customer_reactions(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, batch: ReactionBatch
) -> AppliedReactions:
    """Each reaction on the message it names, by the conversation's contact. Idempotent: the same reaction again,
    or an older one, changes nothing."""
    params: dict[str, Any] = dict(vars(batch)) | {"tenant_id": tenant_id}
    with conn.cursor(row_factory=class_row(AppliedReactions)) as cursor:
        row = cursor.execute(_APPLY_CUSTOMER_REACTIONS, params).fetchone()
    assert row is not None
    return row


@dataclass(frozen=True)
class ReactionTarget:
    """A message an agent reacts to, with what the channel needs to send the reaction."""

    id: int
    conversation_id: int
    external_id: str
    meta_id: str | None
    direction: str
    is_private: bool
    is_system: bool


def find_reaction_target(conn: psycopg.Connection[Any], conversation_id: int, message_id: int) -> ReactionTarget | None:
    with conn.cursor(row_factory=class_row(ReactionTarget)) as cursor:
        return cursor.execute(
            "SELECT id, conversation_id, external_id, meta_id, direction, is_private, is_system"
            " FROM messages WHERE conversation_id = %s AND id = %s",
            (conversation_id, message_id),
        ).fetchone()


def set_business_reaction(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    target: ReactionTarget,
    emoji: str | None,
    user_id: UUID | None,
    meta_id: str | None,
) -> None:
    """The business's reaction (one per message, whichever agent sent it), now; None removes it."""
    conn.execute(
        """
        INSERT INTO message_reactions AS x (tenant_id, message_id, conversation_id, side, emoji, user_id, reacted_at,
                                            meta_id)
        VALUES (%(tenant_id)s, %(message_id)s, %(conversation_id)s, 'business', %(emoji)s, %(user_id)s, now(),
                %(meta_id)s)
        ON CONFLICT (message_id, side) DO UPDATE
        SET emoji = EXCLUDED.emoji, user_id = EXCLUDED.user_id, reacted_at = EXCLUDED.reacted_at,
            meta_id = EXCLUDED.meta_id, updated_at = now()
        WHERE EXCLUDED.emoji IS DISTINCT FROM x.emoji OR EXCLUDED.user_id IS DISTINCT FROM x.user_id
        """,
        {
            "tenant_id": tenant_id,
            "message_id": target.id,
            "conversation_id": target.conversation_id,
            "emoji": emoji,
            "user_id": user_id,
            "meta_id": meta_id,
        },
    )


def reactions_of(conn: psycopg.Connection[Any], message_id: int) -> list[dict[str, Any]]:
    """The message's reactions as the views show them (message_reactions_json, migration 0034)."""
    row = conn.execute("SELECT message_reactions_json(%s)", (message_id,)).fetchone()
    return list(row[0]) if row else []
