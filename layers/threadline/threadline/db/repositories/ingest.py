"""Storing an ingest batch in one set-based statement.

Contacts are matched or created, conversations upserted, messages inserted (deduplicated by the
(conversation_id, external_id) key) and the denormalised `last_message_*` / `last_interaction_at` columns moved
forward, all in a single round trip whatever the batch size. Rows are locked in a stable order (identifier,
conversation id, message id) so concurrent overlapping batches queue behind each other instead of deadlocking.
Parameters travel in binary (`%(name)b`): for arrays of hundreds of strings that skips psycopg's per-element
text escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.db.errors import translated_errors
from threadline.db.repositories.contacts import lock_contact_numbers


@dataclass
class ConversationBatch:
    """Column-wise input: one list entry per conversation (conversation_*) or per message (message_*)."""

    conversation_external_ids: list[str] = field(default_factory=list)
    conversation_identifiers: list[str] = field(default_factory=list)
    conversation_phone_digits: list[str | None] = field(default_factory=list)
    conversation_participant_names: list[str | None] = field(default_factory=list)
    conversation_last_message_at: list[datetime | None] = field(default_factory=list)
    conversation_last_message_preview: list[str | None] = field(default_factory=list)
    conversation_last_inbound_at: list[datetime | None] = field(default_factory=list)
    message_conversation_external_ids: list[str] = field(default_factory=list)
    message_external_ids: list[str] = field(default_factory=list)
    message_directions: list[str] = field(default_factory=list)
    message_types: list[str] = field(default_factory=list)
    message_contents: list[str] = field(default_factory=list)
    message_media_urls: list[str | None] = field(default_factory=list)
    message_sent_at: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class StoredConversation:
    external_conversation_id: str
    conversation_id: int
    created: bool
    messages_added: int
    # Resolved or snoozed when this statement locked it: only such a conversation can be re-opened by the
    # customer's new message (the row stays locked until commit, so the status cannot move meanwhile).
    reopenable: bool


_STORE_BATCH = """
WITH
input_conversations AS (
    SELECT * FROM unnest(
        %(conversation_external_ids)b::text[], %(conversation_identifiers)b::text[],
        %(conversation_phone_digits)b::text[], %(conversation_participant_names)b::text[],
        %(conversation_last_message_at)b::timestamptz[], %(conversation_last_message_preview)b::text[],
        %(conversation_last_inbound_at)b::timestamptz[]
    ) AS c (external_conversation_id, identifier, phone_digits, participant_name,
            last_message_at, last_message_preview, last_inbound_at)
),
input_contacts AS (
    SELECT identifier, min(phone_digits) AS phone_digits, right(min(phone_digits), 10) AS phone_last10,
           -- One contact per number however it is spelled ("+1 555...", "1555...", "(555)..."): a batch that
           -- names a new number twice creates it once.
           COALESCE(right(min(phone_digits), 10), identifier) AS contact_key,
           min(participant_name) AS participant_name, max(last_inbound_at) AS last_inbound_at
    FROM input_conversations
    GROUP BY identifier
),
-- Best existing match per identifier: the identifier itself, then the exact phone digits, then the last ten digits.
matched_contacts AS (
    SELECT DISTINCT ON (i.identifier) i.identifier, c.id AS contact_id
    FROM input_contacts i
    JOIN contacts c ON c.tenant_id = %(tenant_id)b
                   AND (c.identifier = i.identifier OR c.phone_digits = i.phone_digits OR c.phone_last10 = i.phone_last10)
    ORDER BY i.identifier, (c.identifier = i.identifier) DESC,
             (c.phone_digits IS NOT DISTINCT FROM i.phone_digits) DESC, c.created_at, c.id
),
refreshed_contacts AS (
    UPDATE contacts c
    SET last_interaction_at = GREATEST(c.last_interaction_at, seen.last_inbound_at),
        name = COALESCE(c.name, seen.participant_name),
        updated_at = now()
    FROM (
        SELECT m.contact_id, max(i.last_inbound_at) AS last_inbound_at, min(i.participant_name) AS participant_name
        FROM matched_contacts m JOIN input_contacts i USING (identifier)
        GROUP BY m.contact_id
    ) seen
    WHERE c.id = seen.contact_id
      AND (seen.last_inbound_at > c.last_interaction_at
           OR (c.last_interaction_at IS NULL AND seen.last_inbound_at IS NOT NULL)
           OR (c.name IS NULL AND seen.participant_name IS NOT NULL))
    RETURNING c.id
),
created_contacts AS (
    INSERT INTO contacts AS c (tenant_id, identifier, phone_digits, name, last_interaction_at)
    SELECT DISTINCT ON (i.contact_key) %(tenant_id)b, i.identifier, i.phone_digits, i.participant_name,
           max(i.last_inbound_at) OVER (PARTITION BY i.contact_key)
    FROM input_contacts i
    WHERE NOT EXISTS (SELECT 1 FROM matched_contacts m WHERE m.identifier = i.identifier)
    ORDER BY i.contact_key, i.identifier
    -- Another request created the same contact after our snapshot: adopt its row.
    ON CONFLICT (tenant_id, identifier) DO UPDATE
    SET last_interaction_at = GREATEST(c.last_interaction_at, EXCLUDED.last_interaction_at),
        name = COALESCE(c.name, EXCLUDED.name),
        updated_at = now()
    RETURNING c.id AS contact_id, COALESCE(c.phone_last10, c.identifier) AS contact_key
),
contact_ids AS (
    SELECT identifier, contact_id FROM matched_contacts
    UNION ALL
    SELECT i.identifier, k.contact_id
    FROM input_contacts i JOIN created_contacts k USING (contact_key)
    WHERE NOT EXISTS (SELECT 1 FROM matched_contacts m WHERE m.identifier = i.identifier)
),
upserted_conversations AS (
    INSERT INTO conversations AS c (tenant_id, connection_id, platform, external_conversation_id, contact_id,
                                    last_message_at, last_message_preview)
    SELECT %(tenant_id)b, %(connection_uuid)b, %(platform)b, i.external_conversation_id, k.contact_id,
           i.last_message_at, i.last_message_preview
    FROM input_conversations i JOIN contact_ids k USING (identifier)
    ORDER BY i.external_conversation_id
    -- The newest message wins, whatever order batches arrive in: an older batch never moves these backwards.
    ON CONFLICT (tenant_id, platform, external_conversation_id) DO UPDATE
    SET last_message_preview = CASE
            WHEN c.last_message_at IS NULL OR EXCLUDED.last_message_at > c.last_message_at
            THEN EXCLUDED.last_message_preview ELSE c.last_message_preview END,
        last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at),
        updated_at = now()
    RETURNING c.id, c.external_conversation_id, (c.xmax = 0) AS created,
              c.status IN ('resolved', 'snoozed') AS reopenable
),
input_messages AS (
    SELECT * FROM unnest(
        %(message_conversation_external_ids)b::text[], %(message_external_ids)b::text[],
        %(message_directions)b::text[], %(message_types)b::text[], %(message_contents)b::text[],
        %(message_media_urls)b::text[], %(message_sent_at)b::timestamptz[]
    ) AS m (external_conversation_id, external_id, direction, type, content, media_url, sent_at)
),
inserted_messages AS (
    INSERT INTO messages (tenant_id, conversation_id, external_id, direction, type, content, media_url, sent_at,
                          status, source)
    SELECT %(tenant_id)b, u.id, m.external_id, m.direction, m.type, m.content, m.media_url, m.sent_at,
           CASE m.direction WHEN 'inbound' THEN 'received' ELSE 'sent' END, 'ingest'
    FROM input_messages m JOIN upserted_conversations u USING (external_conversation_id)
    ORDER BY u.external_conversation_id, m.external_id
    ON CONFLICT (conversation_id, external_id) DO NOTHING
    RETURNING conversation_id
)
SELECT u.external_conversation_id, u.id AS conversation_id, u.created,
       count(i.conversation_id)::int AS messages_added, u.reopenable
FROM upserted_conversations u LEFT JOIN inserted_messages i ON i.conversation_id = u.id
GROUP BY u.external_conversation_id, u.id, u.created, u.reopenable
"""


def store_conversation_batch(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, connection_uuid: UUID, platform: str, batch: ConversationBatch
) -> list[StoredConversation]:
    params: dict[str, Any] = dict(vars(batch))
    params |= {"tenant_id": tenant_id, "connection_uuid": connection_uuid, "platform": platform}
    # RowsRefused: a value the schema refuses (the batch stored nothing).
    with translated_errors(), conn.pipeline():
        lock_contact_numbers(conn, tenant_id, batch.conversation_phone_digits)
        with conn.cursor(row_factory=class_row(StoredConversation)) as cursor:
            return cursor.execute(_STORE_BATCH, params).fetchall()
