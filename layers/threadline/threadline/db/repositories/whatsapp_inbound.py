"""Meta's webhooks in the database: finding the number's connection, storing inbound messages, applying statuses.

Each write is one set-based statement whatever the size of the delivery. Meta re-sends deliveries (and may send
the same one twice at once), so every write is idempotent: inbound messages are deduplicated by their wamid
(unique per tenant) as well as by (conversation_id, external_id), and statuses only ever move a message forward.
Parameters travel in binary (`%(name)b`), as in the ingest statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from threadline.db.repositories.contacts import lock_contact_numbers
from threadline.db.repositories.statuses import ADVANCE_STATUSES, advance_parameters


@dataclass(frozen=True)
class WhatsAppConnection:
    id: UUID
    tenant_id: UUID
    connection_id: str
    phone_number_id: str
    is_active: bool


def find_whatsapp_connections(conn: psycopg.Connection[Any], phone_number_ids: list[str]) -> list[WhatsAppConnection]:
    # A SECURITY DEFINER function: the webhook's one narrow way through RLS before it knows the tenant.
    with conn.cursor(row_factory=class_row(WhatsAppConnection)) as cursor:
        return cursor.execute(
            "SELECT f.id, f.tenant_id, f.connection_id, f.phone_number_id, f.is_active"
            " FROM unnest(%s::text[]) AS p (phone_number_id)"
            " CROSS JOIN LATERAL find_whatsapp_connection_by_number(p.phone_number_id) AS f",
            (phone_number_ids,),
        ).fetchall()


@dataclass
class InboundBatch:
    """Column-wise input: one entry per sender (sender_*) or per message (message_*).

    A sender is one WhatsApp user; `sender_conversation_keys` is the conversation Threadline opens for them when
    their contact has no WhatsApp conversation on this connection yet.
    """

    sender_keys: list[str] = field(default_factory=list)
    sender_identifiers: list[str] = field(default_factory=list)
    sender_phone_digits: list[str | None] = field(default_factory=list)
    sender_whatsapp_user_ids: list[str | None] = field(default_factory=list)
    sender_whatsapp_parent_user_ids: list[str | None] = field(default_factory=list)
    sender_names: list[str | None] = field(default_factory=list)
    sender_conversation_keys: list[str] = field(default_factory=list)
    sender_last_inbound_at: list[datetime | None] = field(default_factory=list)
    sender_last_message_at: list[datetime] = field(default_factory=list)
    sender_last_message_preview: list[str] = field(default_factory=list)
    message_sender_keys: list[str] = field(default_factory=list)
    message_meta_ids: list[str] = field(default_factory=list)
    message_types: list[str] = field(default_factory=list)
    message_contents: list[str] = field(default_factory=list)
    message_media_mime_types: list[str | None] = field(default_factory=list)
    message_media_filenames: list[str | None] = field(default_factory=list)
    message_payloads: list[dict[str, Any]] = field(default_factory=list)
    message_details: list[dict[str, Any] | None] = field(default_factory=list)
    message_referrals: list[dict[str, Any] | None] = field(default_factory=list)
    message_forwarded: list[bool] = field(default_factory=list)
    message_frequently_forwarded: list[bool] = field(default_factory=list)
    message_reply_to_external_ids: list[str | None] = field(default_factory=list)
    message_sent_at: list[datetime] = field(default_factory=list)
    message_is_system: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class StoredInbound:
    messages_added: int
    conversations_touched: int
    # The messages stored now (not those Meta re-sent), for the real-time feed.
    message_ids: list[int] = field(default_factory=list)


_STORE_INBOUND = """
WITH
input_senders AS (
    SELECT * FROM unnest(
        %(sender_keys)b::text[], %(sender_identifiers)b::text[], %(sender_phone_digits)b::text[],
        %(sender_whatsapp_user_ids)b::text[], %(sender_whatsapp_parent_user_ids)b::text[], %(sender_names)b::text[],
        %(sender_conversation_keys)b::text[], %(sender_last_inbound_at)b::timestamptz[],
        %(sender_last_message_at)b::timestamptz[], %(sender_last_message_preview)b::text[]
    ) AS s (sender_key, identifier, phone_digits, whatsapp_user_id, whatsapp_parent_user_id, name, conversation_key,
            last_inbound_at, last_message_at, last_message_preview)
),
-- Best existing contact per sender: Meta's business-scoped user id first (it survives a hidden phone number),
-- then the identifier, the exact phone digits, the last ten digits.
matched_contacts AS (
    SELECT DISTINCT ON (s.sender_key) s.sender_key, c.id AS contact_id
    FROM input_senders s
    JOIN contacts c ON c.tenant_id = %(tenant_id)b
                   AND (c.whatsapp_user_id = s.whatsapp_user_id OR c.identifier = s.identifier
                        OR c.phone_digits = s.phone_digits OR c.phone_last10 = right(s.phone_digits, 10))
    ORDER BY s.sender_key, coalesce(c.whatsapp_user_id = s.whatsapp_user_id, false) DESC,
             (c.identifier = s.identifier) DESC, coalesce(c.phone_digits = s.phone_digits, false) DESC,
             c.created_at, c.id
),
-- A matched contact learns what it lacked (the BSUID and parent BSUID, the phone digits, a name), and the newest
-- inbound message
-- moves last_interaction_at forward. (The conversation's 24-hour window opens from its own inbound messages:
-- migration 0018's counters trigger moves conversations.last_inbound_at.)
refreshed_contacts AS (
    UPDATE contacts c
    SET last_interaction_at = GREATEST(c.last_interaction_at, seen.last_inbound_at),
        name = COALESCE(c.name, seen.name),
        whatsapp_user_id = COALESCE(c.whatsapp_user_id, seen.whatsapp_user_id),
        whatsapp_parent_user_id = COALESCE(c.whatsapp_parent_user_id, seen.whatsapp_parent_user_id),
        phone_digits = COALESCE(c.phone_digits, seen.phone_digits),
        updated_at = now()
    FROM (
        SELECT m.contact_id, max(s.last_inbound_at) AS last_inbound_at, min(s.name) AS name,
               min(s.whatsapp_user_id) AS whatsapp_user_id, min(s.whatsapp_parent_user_id) AS whatsapp_parent_user_id,
               min(s.phone_digits) AS phone_digits
        FROM matched_contacts m JOIN input_senders s USING (sender_key)
        GROUP BY m.contact_id
    ) seen
    WHERE c.id = seen.contact_id
      AND (seen.last_inbound_at > c.last_interaction_at
           OR (c.last_interaction_at IS NULL AND seen.last_inbound_at IS NOT NULL)
           OR (c.name IS NULL AND seen.name IS NOT NULL)
           OR (c.whatsapp_user_id IS NULL AND seen.whatsapp_user_id IS NOT NULL)
           OR (c.whatsapp_parent_user_id IS NULL AND seen.whatsapp_parent_user_id IS NOT NULL)
           OR (c.phone_digits IS NULL AND seen.phone_digits IS NOT NULL))
    RETURNING c.id
),
created_contacts AS (
    INSERT INTO contacts AS c (tenant_id, identifier, phone_digits, whatsapp_user_id, whatsapp_parent_user_id, name,
                               last_interaction_at)
    SELECT DISTINCT ON (s.identifier)
           %(tenant_id)b, s.identifier, s.phone_digits, s.whatsapp_user_id, s.whatsapp_parent_user_id, s.name,
           s.last_inbound_at
    FROM input_senders s
    WHERE NOT EXISTS (SELECT 1 FROM matched_contacts m WHERE m.sender_key = s.sender_key)
    ORDER BY s.identifier, s.whatsapp_user_id NULLS LAST
    -- The same delivery, sent twice at once, created this contact after our snapshot: adopt its row.
    ON CONFLICT (tenant_id, identifier) DO UPDATE
    SET last_interaction_at = GREATEST(c.last_interaction_at, EXCLUDED.last_interaction_at),
        name = COALESCE(c.name, EXCLUDED.name),
        whatsapp_user_id = COALESCE(c.whatsapp_user_id, EXCLUDED.whatsapp_user_id),
        whatsapp_parent_user_id = COALESCE(c.whatsapp_parent_user_id, EXCLUDED.whatsapp_parent_user_id),
        phone_digits = COALESCE(c.phone_digits, EXCLUDED.phone_digits),
        updated_at = now()
    RETURNING c.id AS contact_id, c.identifier
),
contact_ids AS (
    SELECT sender_key, contact_id FROM matched_contacts
    UNION ALL
    SELECT s.sender_key, k.contact_id
    FROM input_senders s JOIN created_contacts k USING (identifier)
    WHERE NOT EXISTS (SELECT 1 FROM matched_contacts m WHERE m.sender_key = s.sender_key)
),
-- A sender's messages join the contact's most recent WhatsApp conversation on this connection (one a connector
-- pushed through ingest, or one the webhook opened before); only a contact without one gets a new conversation.
resolved_senders AS (
    SELECT k.sender_key, k.contact_id, s.last_message_at, s.last_message_preview,
           COALESCE(existing.external_conversation_id, s.conversation_key) AS external_conversation_id
    FROM contact_ids k
    JOIN input_senders s USING (sender_key)
    LEFT JOIN LATERAL (
        SELECT v.external_conversation_id
        FROM conversations v
        WHERE v.contact_id = k.contact_id AND v.tenant_id = %(tenant_id)b AND v.platform = %(platform)b::text
          AND v.connection_id = %(connection_uuid)b
        ORDER BY v.last_message_at DESC NULLS LAST, v.id DESC
        LIMIT 1
    ) existing ON true
),
input_conversations AS (
    SELECT external_conversation_id, (array_agg(contact_id))[1] AS contact_id,
           max(last_message_at) AS last_message_at,
           (array_agg(last_message_preview ORDER BY last_message_at DESC))[1] AS last_message_preview
    FROM resolved_senders
    GROUP BY external_conversation_id
),
upserted_conversations AS (
    INSERT INTO conversations AS v (tenant_id, connection_id, platform, external_conversation_id, contact_id,
                                    last_message_at, last_message_preview)
    SELECT %(tenant_id)b, %(connection_uuid)b, %(platform)b::text, i.external_conversation_id, i.contact_id,
           i.last_message_at, i.last_message_preview
    FROM input_conversations i
    ORDER BY i.external_conversation_id
    -- The newest message wins, whatever order deliveries arrive in: a re-sent one never moves these backwards.
    ON CONFLICT (tenant_id, platform, external_conversation_id) DO UPDATE
    SET last_message_preview = CASE
            WHEN v.last_message_at IS NULL OR EXCLUDED.last_message_at > v.last_message_at
            THEN EXCLUDED.last_message_preview ELSE v.last_message_preview END,
        last_message_at = GREATEST(v.last_message_at, EXCLUDED.last_message_at),
        updated_at = now()
    RETURNING v.id, v.external_conversation_id
),
input_messages AS (
    SELECT * FROM unnest(
        %(message_sender_keys)b::text[], %(message_meta_ids)b::text[], %(message_types)b::text[],
        %(message_contents)b::text[], %(message_media_mime_types)b::text[], %(message_media_filenames)b::text[],
        %(message_payloads)b::jsonb[], %(message_details)b::jsonb[], %(message_referrals)b::jsonb[],
        %(message_forwarded)b::boolean[], %(message_frequently_forwarded)b::boolean[],
        %(message_reply_to_external_ids)b::text[], %(message_sent_at)b::timestamptz[], %(message_is_system)b::boolean[]
    ) AS m (sender_key, meta_id, type, content, media_mime_type, media_filename, payload, details, referral,
            forwarded, frequently_forwarded, reply_to_external_id, sent_at, is_system)
),
-- No conflict target: a re-sent wamid is skipped whichever unique key it meets, (conversation_id, external_id)
-- or (tenant_id, meta_id), even if it would now land in another conversation.
inserted_messages AS (
    INSERT INTO messages (tenant_id, conversation_id, external_id, meta_id, direction, type, content,
                          media_mime_type, media_filename, payload, details, referral, forwarded,
                          frequently_forwarded, reply_to_external_id, sent_at, status, source, is_system)
    SELECT %(tenant_id)b, u.id, m.meta_id, m.meta_id, 'inbound', m.type, m.content,
           m.media_mime_type, m.media_filename, m.payload, m.details, m.referral, m.forwarded,
           m.frequently_forwarded, m.reply_to_external_id, m.sent_at, 'received', 'whatsapp_webhook', m.is_system
    FROM input_messages m
    JOIN resolved_senders r USING (sender_key)
    JOIN upserted_conversations u USING (external_conversation_id)
    ORDER BY u.id, m.meta_id
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM inserted_messages)::int AS messages_added,
       (SELECT count(*) FROM upserted_conversations)::int AS conversations_touched,
       ARRAY(SELECT id FROM inserted_messages ORDER BY id) AS message_ids
"""


def store_inbound_messages(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, connection_uuid: UUID, platform: str, batch: InboundBatch
) -> StoredInbound:
    params: dict[str, Any] = dict(vars(batch))
    params |= {
        "tenant_id": tenant_id,
        "connection_uuid": connection_uuid,
        "platform": platform,
        "message_payloads": [Jsonb(payload) for payload in batch.message_payloads],
        "message_details": [Jsonb(details) if details is not None else None for details in batch.message_details],
        "message_referrals": [
            Jsonb(referral) if referral is not None else None for referral in batch.message_referrals
        ],
    }
    with conn.pipeline():
        lock_contact_numbers(conn, tenant_id, batch.sender_phone_digits)
        with conn.cursor(row_factory=class_row(StoredInbound)) as cursor:
            row = cursor.execute(_STORE_INBOUND, params).fetchone()
    assert row is not None
    return row


@dataclass(frozen=True)
class UserIdChange:
    """Meta's `user_changed_user_id`: the customer known by `previous_user_id` is now `user_id`."""

    previous_user_id: str
    user_id: str
    parent_user_id: str | None = None


def rekey_contacts(conn: psycopg.Connection[Any], *, tenant_id: UUID, changes: list[UserIdChange]) -> int:
    """Move each contact known by a previous BSUID to its new one (and parent BSUID), in the order Meta reported
    them. A contact already holding the new id (the customer wrote with it before the notice arrived) keeps its
    own; the old one is left as it is rather than merged. Returns how many contacts moved."""
    moved = 0
    for change in changes:
        cursor = conn.execute(
            """
            UPDATE contacts c
            SET whatsapp_user_id = %(user_id)s,
                whatsapp_parent_user_id = COALESCE(%(parent_user_id)s, c.whatsapp_parent_user_id),
                updated_at = now()
            WHERE c.tenant_id = %(tenant_id)s AND c.whatsapp_user_id = %(previous_user_id)s
              AND NOT EXISTS (SELECT 1 FROM contacts o
                              WHERE o.tenant_id = %(tenant_id)s AND o.whatsapp_user_id = %(user_id)s)
            """,
            {"tenant_id": tenant_id, **vars(change)},
        )
        moved += cursor.rowcount
    return moved


@dataclass
class StatusBatch:
    """Column-wise input: one entry per status Meta reported."""

    meta_ids: list[str] = field(default_factory=list)
    callback_ids: list[str | None] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    status_at: list[datetime] = field(default_factory=list)
    error_codes: list[int | None] = field(default_factory=list)
    error_titles: list[str | None] = field(default_factory=list)
    error_details: list[str | None] = field(default_factory=list)
    # What Meta says each message costs (its pricing and billing conversation objects), or None.
    pricings: list[dict[str, Any] | None] = field(default_factory=list)
    billing_conversations: list[dict[str, Any] | None] = field(default_factory=list)
    # Who the message went to, as Meta names them: learnt by the contact when it lacks them.
    recipient_user_ids: list[str | None] = field(default_factory=list)
    recipient_parent_user_ids: list[str | None] = field(default_factory=list)


@dataclass(frozen=True)
class AppliedStatuses:
    messages_advanced: int
    windows_closed: int
    # The messages whose status moved, for the real-time feed.
    message_ids: list[int] = field(default_factory=list)
    # Second wamids recorded, and contacts that learnt their BSUID from a status.
    aliases_added: int = 0
    contacts_learnt: int = 0


_APPLY_STATUSES = f"""
WITH
input_statuses AS (
    SELECT * FROM unnest(
        %(meta_ids)b::text[], %(callback_ids)b::text[], %(statuses)b::text[], %(status_at)b::timestamptz[],
        %(error_codes)b::integer[], %(error_titles)b::text[], %(error_details)b::text[],
        %(recipient_user_ids)b::text[], %(recipient_parent_user_ids)b::text[],
        %(pricings)b::jsonb[], %(billing_conversations)b::jsonb[]
    ) WITH ORDINALITY AS s (meta_id, callback_id, status, status_at, error_code, error_title, error_details,
                            recipient_user_id, recipient_parent_user_id, pricing, billing_conversation, position)
),
-- The message a status is about, found three ways (each an index probe): by its wamid; by a second wamid Meta
-- gave it (whatsapp_message_aliases); or by Threadline's own id, which the send put in biz_opaque_callback_data and
-- Meta echoes back: that finds a pending row whose wamid the send path could not record, and a message Meta names
-- by another wamid (phone-scoped and BSUID-scoped), which becomes an alias.
matched AS (
    SELECT s.position, m.id AS message_id, m.meta_id AS known_meta_id
    FROM input_statuses s
    JOIN messages m ON m.tenant_id = %(tenant_id)b AND m.meta_id = s.meta_id
    UNION
    SELECT s.position, m.id, m.meta_id
    FROM input_statuses s
    JOIN whatsapp_message_aliases a ON a.tenant_id = %(tenant_id)b AND a.meta_id = s.meta_id
    JOIN messages m ON m.id = a.message_id
    UNION
    SELECT s.position, m.id, m.meta_id
    FROM input_statuses s
    JOIN messages m ON m.tenant_id = %(tenant_id)b AND m.direction = 'outbound' AND m.external_id = s.callback_id
    WHERE m.meta_id IS NOT NULL OR m.status = 'pending' OR m.error_title = %(unconfirmed_title)b
),
-- Several statuses for one message in one delivery: the most advanced one speaks for them, and for its price the
-- most advanced one that names a price.
targets AS (
    SELECT DISTINCT ON (x.message_id) x.message_id, s.meta_id AS external_id, s.status, s.status_at, s.error_code,
           s.error_title, s.error_details,
           (SELECT p.pricing FROM matched y JOIN input_statuses p USING (position)
            WHERE y.message_id = x.message_id AND p.pricing IS NOT NULL
            ORDER BY message_status_rank(p.status) DESC, p.status_at DESC LIMIT 1) AS pricing,
           (SELECT p.billing_conversation FROM matched y JOIN input_statuses p USING (position)
            WHERE y.message_id = x.message_id AND p.billing_conversation IS NOT NULL
            ORDER BY message_status_rank(p.status) DESC, p.status_at DESC LIMIT 1) AS billing_conversation
    FROM matched x JOIN input_statuses s USING (position)
    ORDER BY x.message_id, message_status_rank(s.status) DESC, s.status_at DESC
),
new_aliases AS (
    INSERT INTO whatsapp_message_aliases (tenant_id, meta_id, message_id)
    SELECT DISTINCT ON (s.meta_id) %(tenant_id)b, s.meta_id, x.message_id
    FROM matched x JOIN input_statuses s USING (position)
    WHERE x.known_meta_id IS NOT NULL AND x.known_meta_id <> s.meta_id
    ORDER BY s.meta_id, x.message_id
    ON CONFLICT DO NOTHING
    RETURNING 1
),
-- The recipient's BSUID and parent BSUID, which a status names (the status of a message sent to a phone number
-- included): the contact learns what it lacks, so the customer's messages that later carry only the BSUID find it.
learnt AS (
    SELECT DISTINCT ON (v.contact_id) v.contact_id, s.recipient_user_id, s.recipient_parent_user_id
    FROM matched x
    JOIN input_statuses s USING (position)
    JOIN messages m ON m.id = x.message_id
    JOIN conversations v ON v.id = m.conversation_id
    WHERE s.recipient_user_id IS NOT NULL OR s.recipient_parent_user_id IS NOT NULL
    ORDER BY v.contact_id, s.status_at DESC
),
learnt_contacts AS (
    UPDATE contacts c
    SET whatsapp_user_id = COALESCE(c.whatsapp_user_id, l.recipient_user_id),
        whatsapp_parent_user_id = COALESCE(c.whatsapp_parent_user_id, l.recipient_parent_user_id),
        updated_at = now()
    FROM learnt l
    WHERE c.id = l.contact_id
      AND ((c.whatsapp_user_id IS NULL AND l.recipient_user_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM contacts o
                            WHERE o.tenant_id = %(tenant_id)b AND o.whatsapp_user_id = l.recipient_user_id))
           OR (c.whatsapp_parent_user_id IS NULL AND l.recipient_parent_user_id IS NOT NULL))
    RETURNING 1
),
-- Forward only, one way for every channel (threadline.db.repositories.statuses).
{ADVANCE_STATUSES},
-- A status that does not move the message (a `delivered` after `read`) changes nothing of it, except a price the
-- message does not have yet: when `read` came first without one, what Meta charges is still recorded.
priced_late AS (
    UPDATE messages m
    SET pricing = t.pricing, billing_conversation = COALESCE(m.billing_conversation, t.billing_conversation)
    FROM targets t
    WHERE m.id = t.message_id AND m.id IN (SELECT id FROM locked) AND m.id NOT IN (SELECT id FROM advanced)
      AND m.pricing IS NULL AND t.pricing IS NOT NULL
    RETURNING m.id
),
-- Meta refused a message because the customer-service window had closed: believe it for that conversation (the
-- window of that business number), unless the customer has written to it since (which re-opened the window).
closed_windows AS (
    UPDATE conversations v
    SET window_expires_at = LEAST(v.window_expires_at, now()),
        updated_at = now()
    FROM (
        SELECT a.conversation_id, max(a.status_at) AS failed_at
        FROM advanced a
        WHERE a.status = 'failed' AND a.error_code = %(window_closed_code)b
        GROUP BY a.conversation_id
    ) refused
    WHERE v.id = refused.conversation_id AND v.window_expires_at IS NOT NULL
      AND (v.last_inbound_at IS NULL OR v.last_inbound_at < refused.failed_at)
    RETURNING v.id
)
SELECT (SELECT count(*) FROM advanced)::int AS messages_advanced,
       (SELECT count(*) FROM closed_windows)::int AS windows_closed,
       ARRAY(SELECT id FROM advanced ORDER BY id) AS message_ids,
       (SELECT count(*) FROM new_aliases)::int AS aliases_added,
       (SELECT count(*) FROM learnt_contacts)::int AS contacts_learnt
"""


def apply_status_updates(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, batch: StatusBatch, window_closed_code: int
) -> AppliedStatuses:
    params: dict[str, Any] = dict(vars(batch))
    params |= {
        "tenant_id": tenant_id,
        "window_closed_code": window_closed_code,
        "pricings": [Jsonb(value) if value is not None else None for value in batch.pricings],
        "billing_conversations": [Jsonb(value) if value is not None else None for value in batch.billing_conversations],
        **advance_parameters(),
    }
    with conn.cursor(row_factory=class_row(AppliedStatuses)) as cursor:
        row = cursor.execute(_APPLY_STATUSES, params).fetchone()
    assert row is not None
    return row
