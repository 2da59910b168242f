"""Media kept (migration 0040): the pending rows a stored message owes, the copy step's reads and outcomes, the
sweep's cross-tenant claim, and what the message views list.

Every outcome is a compare-and-set on `state = 'pending'`: a redelivered copy job finds the row stored (or failed)
and does nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

# A message whose payload names a medium by the channel's id (the WhatsApp notification keeps Meta's media id
# there) owes a copy.
CHANNEL_MEDIA_KEY = "media_id"


@dataclass(frozen=True)
class PendingMedia:
    tenant_id: UUID
    message_id: int


def record_channel_media(conn: psycopg.Connection[Any], tenant_id: UUID, message_ids: Sequence[int]) -> list[int]:
    """In the transaction that stored the messages: a pending row for each that names a channel media id, marked
    handed over (the writer enqueues it right after its commit; the sweep covers a lost hand-over). One statement
    whatever the number of messages; returns the message ids that got a row."""
    rows = conn.execute(
        """
        INSERT INTO message_media (message_id, tenant_id, conversation_id, source_kind, source_ref, mime_type,
                                   file_name, enqueued_at)
        SELECT m.id, m.tenant_id, m.conversation_id, 'channel', m.payload ->> %(key)s, m.media_mime_type,
               m.media_filename, now()
        FROM messages m
        WHERE m.tenant_id = %(tenant_id)s AND m.id = ANY (%(ids)s) AND m.payload ->> %(key)s <> ''
        ON CONFLICT (message_id) DO NOTHING
        RETURNING message_id
        """,
        {"tenant_id": tenant_id, "ids": list(message_ids), "key": CHANNEL_MEDIA_KEY},
    ).fetchall()
    return sorted(row[0] for row in rows)


def record_linked_media(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    connection_uuid: UUID,
    conversation_ids: Sequence[int],
    external_ids: Sequence[str],
) -> list[int]:
    """In the ingest's transaction: a pending row (source kind `url`) for each of these messages that has a
    media_url, when its connection copies media. One statement; nothing when the connection does not opt in."""
    rows = conn.execute(
        """
        INSERT INTO message_media (message_id, tenant_id, conversation_id, source_kind, source_ref, mime_type,
                                   file_name, enqueued_at)
        SELECT m.id, m.tenant_id, m.conversation_id, 'url', m.media_url, m.media_mime_type, m.media_filename, now()
        FROM unnest(%(conversation_ids)s::bigint[], %(external_ids)s::text[]) AS i (conversation_id, external_id)
        JOIN messages m ON m.tenant_id = %(tenant_id)s AND m.conversation_id = i.conversation_id
                       AND m.external_id = i.external_id
        WHERE m.media_url IS NOT NULL
          AND EXISTS (SELECT 1 FROM connections c WHERE c.id = %(connection_uuid)s AND c.copy_media)
        ON CONFLICT (message_id) DO NOTHING
        RETURNING message_id
        """,
        {
            "tenant_id": tenant_id,
            "connection_uuid": connection_uuid,
            "conversation_ids": list(conversation_ids),
            "external_ids": list(external_ids),
        },
    ).fetchall()
    return sorted(row[0] for row in rows)


def set_copy_media(conn: psycopg.Connection[Any], connection_id: str, copy_media: bool) -> bool | None:
    """None when no connection has this id."""
    row = conn.execute(
        "UPDATE connections SET copy_media = %s WHERE connection_id = %s RETURNING copy_media",
        (copy_media, connection_id),
    ).fetchone()
    return None if row is None else bool(row[0])


@dataclass(frozen=True)
class MediaJob:
    """What the copy step needs to know about one medium, read under the tenant."""

    message_id: int
    tenant_id: UUID
    conversation_id: int
    platform: str
    connection_uuid: UUID | None
    source_kind: str
    source_ref: str
    state: str
    mime_type: str | None
    file_name: str | None
    message_type: str
    sent_at: datetime
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


def find_media_job(conn: psycopg.Connection[Any], message_id: int) -> MediaJob | None:
    with conn.cursor(row_factory=class_row(MediaJob)) as cursor:
        return cursor.execute(
            """
            SELECT x.message_id, x.tenant_id, x.conversation_id, v.platform, v.connection_id AS connection_uuid,
                   x.source_kind, x.source_ref, x.state, x.mime_type, x.file_name, m.type AS message_type,
                   m.sent_at, x.attempts, x.next_attempt_at, x.created_at
            FROM message_media x
            JOIN messages m ON m.id = x.message_id
            JOIN conversations v ON v.id = x.conversation_id
            WHERE x.message_id = %s
            """,
            (message_id,),
        ).fetchone()


def mark_media_stored(
    conn: psycopg.Connection[Any],
    *,
    message_id: int,
    s3_key: str,
    size_bytes: int,
    sha256: str,
    mime_type: str,
    detected_mime_type: str | None,
    file_name: str | None,
) -> bool:
    """False when the row is no longer pending (another copy of the job stored it first)."""
    row = conn.execute(
        """
        UPDATE message_media
        SET state = 'stored', s3_key = %s, size_bytes = %s, sha256 = %s, mime_type = %s, detected_mime_type = %s,
            file_name = coalesce(file_name, %s), failure_reason = NULL, attempts = attempts + 1,
            stored_at = now(), updated_at = now()
        WHERE message_id = %s AND state = 'pending'
        RETURNING message_id
        """,
        (s3_key, size_bytes, sha256, mime_type, detected_mime_type, file_name, message_id),
    ).fetchone()
    return row is not None


def mark_media_retry(conn: psycopg.Connection[Any], *, message_id: int, reason: str, retry_in_seconds: float) -> bool:
    """A failed attempt that will be tried again: still pending, the reason kept, due again later."""
    row = conn.execute(
        """
        UPDATE message_media
        SET attempts = attempts + 1, failure_reason = %s,
            next_attempt_at = now() + make_interval(secs => %s), enqueued_at = now(), updated_at = now()
        WHERE message_id = %s AND state = 'pending'
        RETURNING message_id
        """,
        (reason, retry_in_seconds, message_id),
    ).fetchone()
    return row is not None


def mark_media_failed(conn: psycopg.Connection[Any], *, message_id: int, reason: str) -> bool:
    row = conn.execute(
        """
        UPDATE message_media
        SET state = 'failed', failure_reason = %s, attempts = attempts + 1, updated_at = now()
        WHERE message_id = %s AND state = 'pending'
        RETURNING message_id
        """,
        (reason, message_id),
    ).fetchone()
    return row is not None


def claim_pending_media(
    conn: psycopg.Connection[Any], *, now: datetime, stale_before: datetime, limit: int
) -> list[PendingMedia]:
    """All tenants (a SECURITY DEFINER function): pending media whose hand-over to the copy queue was lost."""
    with conn.cursor(row_factory=class_row(PendingMedia)) as cursor:
        return cursor.execute(
            "SELECT tenant_id, message_id FROM claim_pending_media(%s, %s, %s)", (now, stale_before, limit)
        ).fetchall()


@dataclass(frozen=True)
class KeptMedia:
    """A medium as the message views list it (its URL is signed per read)."""

    message_id: int
    state: str
    failure_reason: str | None
    mime_type: str | None
    detected_mime_type: str | None
    file_name: str | None
    size_bytes: int | None
    sha256: str | None
    s3_key: str | None
    stored_at: datetime | None


def find_kept_media(conn: psycopg.Connection[Any], message_ids: Sequence[int]) -> dict[int, KeptMedia]:
    """The page's media in one indexed read (the primary key), whatever the page's size."""
    if not message_ids:
        return {}
    with conn.cursor(row_factory=class_row(KeptMedia)) as cursor:
        rows = cursor.execute(
            "SELECT message_id, state, failure_reason, mime_type, detected_mime_type, file_name, size_bytes, sha256,"
            " s3_key, stored_at FROM message_media WHERE message_id = ANY (%s)",
            (list(message_ids),),
        ).fetchall()
    return {row.message_id: row for row in rows}


@dataclass(frozen=True)
class UploadRow:
    id: UUID
    tenant_id: UUID
    uploaded_by: UUID | None
    file_name: str
    mime_type: str
    media_type: str
    size_bytes: int
    s3_key: str
    created_at: datetime
    expires_at: datetime


def insert_upload(conn: psycopg.Connection[Any], upload: UploadRow) -> None:
    conn.execute(
        "INSERT INTO media_uploads (id, tenant_id, uploaded_by, file_name, mime_type, media_type, size_bytes, s3_key,"
        " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            upload.id,
            upload.tenant_id,
            upload.uploaded_by,
            upload.file_name,
            upload.mime_type,
            upload.media_type,
            upload.size_bytes,
            upload.s3_key,
            upload.created_at,
            upload.expires_at,
        ),
    )


def find_upload(conn: psycopg.Connection[Any], upload_id: UUID) -> UploadRow | None:
    """None for an id of another tenant (RLS) as for a missing one."""
    with conn.cursor(row_factory=class_row(UploadRow)) as cursor:
        return cursor.execute(
            "SELECT id, tenant_id, uploaded_by, file_name, mime_type, media_type, size_bytes, s3_key, created_at,"
            " expires_at FROM media_uploads WHERE id = %s",
            (upload_id,),
        ).fetchone()


def record_uploaded_media(
    conn: psycopg.Connection[Any], *, message_id: int, upload: UploadRow, detected_mime_type: str | None, sha256: str
) -> None:
    """A message sent from an upload keeps the uploaded file as its medium, stored from the start."""
    conn.execute(
        """
        INSERT INTO message_media (message_id, tenant_id, conversation_id, source_kind, source_ref, state, mime_type,
                                   detected_mime_type, file_name, size_bytes, sha256, s3_key, stored_at)
        SELECT m.id, m.tenant_id, m.conversation_id, 'upload', %s, 'stored', %s, %s, %s, %s, %s, %s, now()
        FROM messages m WHERE m.id = %s
        ON CONFLICT (message_id) DO NOTHING
        """,
        (
            str(upload.id),
            upload.mime_type,
            detected_mime_type,
            upload.file_name,
            upload.size_bytes,
            sha256,
            upload.s3_key,
            message_id,
        ),
    )
