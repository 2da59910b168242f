"""A customer's edits and revocations of their messages (migration 0035): each changes the message it names, and
what the message said before is kept in message_revisions (a revoked message's text only while its tenant keeps
revoked content). Both are idempotent and order-proof: the same change again (Meta re-sending it, a replay) is
recorded once by its own id, an edit older than the one shown changes nothing, and nothing changes a revoked message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class EditBatch:
    """Column-wise input: one entry per edit. `original_external_ids` name the edited message as the channel knows
    it (WhatsApp: its wamid, or a second wamid Meta gave it)."""

    original_external_ids: list[str] = field(default_factory=list)
    contents: list[str] = field(default_factory=list)
    edited_at: list[datetime] = field(default_factory=list)
    meta_ids: list[str] = field(default_factory=list)


@dataclass
class RevokeBatch:
    original_external_ids: list[str] = field(default_factory=list)
    revoked_at: list[datetime] = field(default_factory=list)
    meta_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AppliedRevisions:
    # The messages that changed (for the real-time feed).
    message_ids: list[int]
    # The edits or revocations (by their own id) whose message Threadline does not know.
    unplaced_meta_ids: list[str]


# The customer's own message a change names: by its wamid or a second one Meta gave it.
_ORIGINAL = """
    -- Two index probes (an OR would let the planner walk the tenant's messages).
    CROSS JOIN LATERAL (
        SELECT m.id FROM messages m
        WHERE m.direction = 'inbound' AND m.id = COALESCE(
            (SELECT f.id FROM messages f WHERE f.tenant_id = %(tenant_id)s AND f.meta_id = r.original),
            (SELECT a.message_id FROM whatsapp_message_aliases a
             WHERE a.tenant_id = %(tenant_id)s AND a.meta_id = r.original))
    ) found
"""

_APPLY_EDITS = f"""
WITH
input AS (
    SELECT * FROM unnest(%(original_external_ids)s::text[], %(contents)s::text[], %(edited_at)s::timestamptz[],
                         %(meta_ids)s::text[])
        WITH ORDINALITY AS r (original, content, edited_at, meta_id, position)
),
targets AS (
    SELECT r.*, found.id AS message_id FROM input r {_ORIGINAL}
),
-- Several edits of one message in one delivery: the newest is its text.
latest AS (
    SELECT DISTINCT ON (message_id) * FROM targets ORDER BY message_id, edited_at DESC, position DESC
),
recorded AS (
    INSERT INTO message_revisions (tenant_id, message_id, kind, previous_content, changed_at, meta_id)
    SELECT %(tenant_id)s, l.message_id, 'edit', m.content, l.edited_at, l.meta_id
    FROM latest l JOIN messages m ON m.id = l.message_id
    WHERE m.deleted_at IS NULL AND (m.edited_at IS NULL OR m.edited_at < l.edited_at)
    ORDER BY l.message_id
    ON CONFLICT (tenant_id, meta_id) DO NOTHING
    RETURNING message_id
),
edited AS (
    UPDATE messages m
    SET content = l.content, edited_at = l.edited_at, updated_at = now()
    FROM latest l
    WHERE m.id = l.message_id AND m.id IN (SELECT message_id FROM recorded)
    RETURNING m.id
)
SELECT ARRAY(SELECT id FROM edited ORDER BY id) AS message_ids,
       ARRAY(SELECT r.meta_id FROM input r
             WHERE NOT EXISTS (SELECT 1 FROM targets t WHERE t.position = r.position)
             ORDER BY r.position) AS unplaced_meta_ids
"""


def apply_edits(conn: psycopg.Connection[Any], *, tenant_id: UUID, batch: EditBatch) -> AppliedRevisions:
    params: dict[str, Any] = dict(vars(batch)) | {"tenant_id": tenant_id}
    with conn.cursor(row_factory=class_row(AppliedRevisions)) as cursor:
        row = cursor.execute(_APPLY_EDITS, params).fetchone()
    assert row is not None
    return row


_APPLY_REVOCATIONS = f"""
WITH
input AS (
    SELECT * FROM unnest(%(original_external_ids)s::text[], %(revoked_at)s::timestamptz[], %(meta_ids)s::text[])
        WITH ORDINALITY AS r (original, revoked_at, meta_id, position)
),
targets AS (
    SELECT r.*, found.id AS message_id FROM input r {_ORIGINAL}
),
earliest AS (
    SELECT DISTINCT ON (message_id) * FROM targets ORDER BY message_id, revoked_at, position
),
tenant AS (
    SELECT keep_revoked_content AS keep FROM tenants WHERE id = %(tenant_id)s
),
recorded AS (
    INSERT INTO message_revisions (tenant_id, message_id, kind, previous_content, changed_at, meta_id)
    SELECT %(tenant_id)s, e.message_id, 'revoke', CASE WHEN (SELECT keep FROM tenant) THEN m.content END,
           e.revoked_at, e.meta_id
    FROM earliest e JOIN messages m ON m.id = e.message_id
    WHERE m.deleted_at IS NULL
    ORDER BY e.message_id
    ON CONFLICT (tenant_id, meta_id) DO NOTHING
    RETURNING message_id
),
-- Not kept: the texts of the message's earlier edits go too.
erased_edits AS (
    UPDATE message_revisions v SET previous_content = NULL
    WHERE NOT (SELECT keep FROM tenant) AND v.kind = 'edit' AND v.previous_content IS NOT NULL
      AND v.message_id IN (SELECT message_id FROM recorded)
    RETURNING 1
),
revoked AS (
    UPDATE messages m
    SET deleted_at = e.revoked_at, content = '', updated_at = now(),
        media_url = CASE WHEN (SELECT keep FROM tenant) THEN m.media_url END,
        payload = CASE WHEN (SELECT keep FROM tenant) THEN m.payload END,
        details = CASE WHEN (SELECT keep FROM tenant) THEN m.details END,
        referral = CASE WHEN (SELECT keep FROM tenant) THEN m.referral END,
        media_filename = CASE WHEN (SELECT keep FROM tenant) THEN m.media_filename END
    FROM earliest e
    WHERE m.id = e.message_id AND m.id IN (SELECT message_id FROM recorded)
    RETURNING m, e.message_id AS id
),
-- The conversation list's preview of it, when it was the newest message.
previews AS (
    UPDATE conversations v SET last_message_preview = '', updated_at = now()
    FROM messages m
    WHERE m.id IN (SELECT id FROM revoked) AND v.id = m.conversation_id AND v.last_message_at = m.sent_at
    RETURNING 1
),
-- A revocation that changes no column the messages trigger tracks (migration 0015: a message without text whose
-- media link, if any, is kept for audit) is logged here as that trigger would.
silent AS (
    SELECT append_events(
        array_agg((r.m).tenant_id ORDER BY r.id), array_agg('message.updated'::text ORDER BY r.id),
        array_agg((r.m).conversation_id ORDER BY r.id),
        array_agg(message_event_data(r.m) || jsonb_build_object('previous_status', (r.m).status,
                                                                  'actor', event_actor()) ORDER BY r.id))
    FROM revoked r JOIN messages before ON before.id = r.id
    WHERE before.content = '' AND before.media_url IS NOT DISTINCT FROM (r.m).media_url
)
SELECT ARRAY(SELECT id FROM revoked ORDER BY id) AS message_ids,
       ARRAY(SELECT r.meta_id FROM input r
             WHERE NOT EXISTS (SELECT 1 FROM targets t WHERE t.position = r.position)
             ORDER BY r.position) AS unplaced_meta_ids,
       (SELECT count(*) FROM silent) AS logged,
       (SELECT count(*) FROM previews) AS previews_hidden,
       (SELECT count(*) FROM erased_edits) AS edits_erased
"""


def apply_revocations(conn: psycopg.Connection[Any], *, tenant_id: UUID, batch: RevokeBatch) -> AppliedRevisions:
    params: dict[str, Any] = dict(vars(batch)) | {"tenant_id": tenant_id}
    row = conn.execute(_APPLY_REVOCATIONS, params).fetchone()
    assert row is not None
    return AppliedRevisions(message_ids=list(row[0]), unplaced_meta_ids=list(row[1]))
