"""Connector callbacks (migration 0020): a connection's outbound endpoint and sealed secrets, what a connector's
answer does to the reply it carried, and the statuses a connector reports later.

A connector reply's platform id becomes the message's `external_id` (the ingest dedupe key, unique per
conversation), never its `meta_id`: platforms such as Telegram number messages per chat, so the same id can name
messages in two conversations of one connection, and `meta_id` is unique per tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.db.errors import ExternalIdTaken, translated_errors
from threadline.db.repositories.statuses import ADVANCE_STATUSES, advance_parameters

_ENDPOINT_COLUMNS = (
    "id, connection_id, platform, is_active, outbound_url, outbound_secret_ciphertext, "
    "previous_outbound_secret_ciphertext, previous_outbound_secret_expires_at"
)


@dataclass(frozen=True)
class ConnectionEndpoint:
    id: UUID
    connection_id: str
    platform: str
    is_active: bool
    outbound_url: str | None
    outbound_secret_ciphertext: bytes | None
    previous_outbound_secret_ciphertext: bytes | None
    previous_outbound_secret_expires_at: datetime | None


def find_connection_endpoint(conn: psycopg.Connection[Any], connection_uuid: UUID) -> ConnectionEndpoint | None:
    with conn.cursor(row_factory=class_row(ConnectionEndpoint)) as cursor:
        return cursor.execute(
            f"SELECT {_ENDPOINT_COLUMNS} FROM connections WHERE id = %s", (connection_uuid,)
        ).fetchone()


def find_connection_endpoint_by_name(conn: psycopg.Connection[Any], connection_id: str) -> ConnectionEndpoint | None:
    with conn.cursor(row_factory=class_row(ConnectionEndpoint)) as cursor:
        return cursor.execute(
            f"SELECT {_ENDPOINT_COLUMNS} FROM connections WHERE connection_id = %s FOR UPDATE", (connection_id,)
        ).fetchone()


def set_outbound_endpoint(
    conn: psycopg.Connection[Any], connection_uuid: UUID, *, url: str | None, secret_ciphertext: bytes | None
) -> ConnectionEndpoint:
    """The connection's outbound URL (None removes it); a new secret when given, else the current one stays."""
    with conn.cursor(row_factory=class_row(ConnectionEndpoint)) as cursor:
        row = cursor.execute(
            f"""
            UPDATE connections
            SET outbound_url = %(url)s,
                outbound_secret_ciphertext = COALESCE(%(secret)s, outbound_secret_ciphertext)
            WHERE id = %(id)s
            RETURNING {_ENDPOINT_COLUMNS}
            """,
            {"id": connection_uuid, "url": url, "secret": secret_ciphertext},
        ).fetchone()
    assert row is not None
    return row


def rotate_outbound_secret(
    conn: psycopg.Connection[Any], connection_uuid: UUID, *, secret_ciphertext: bytes, previous_expires_at: datetime
) -> ConnectionEndpoint:
    """The new secret signs from now on; the one it replaces keeps signing beside it until `previous_expires_at`."""
    with conn.cursor(row_factory=class_row(ConnectionEndpoint)) as cursor:
        row = cursor.execute(
            f"""
            UPDATE connections
            SET previous_outbound_secret_ciphertext = outbound_secret_ciphertext,
                previous_outbound_secret_expires_at = %s,
                outbound_secret_ciphertext = %s
            WHERE id = %s
            RETURNING {_ENDPOINT_COLUMNS}
            """,
            (previous_expires_at, secret_ciphertext, connection_uuid),
        ).fetchone()
    assert row is not None
    return row


# ---------------------------------------------------------------------------------------------------------------
# The reply's fate
# ---------------------------------------------------------------------------------------------------------------


def complete_connector_reply(conn: psycopg.Connection[Any], message_id: int, external_id: str | None) -> int | None:
    """The connector took the reply (a 2xx): `sent` unless a status report already moved it further, under the
    platform's id when the answer named one. If the connector's sync stored that same platform message first, its
    copy is folded into this reply (migration 0020's fold_connector_echo) and its status kept if it was further
    along. Returns the message id when something a reader sees changed. Raises ExternalIdTaken when the platform id
    already names another message of the conversation (its unique key, 0020)."""
    return adopt_platform_id(conn, message_id, external_id, at_least="sent")


def adopt_platform_id(
    conn: psycopg.Connection[Any], message_id: int, external_id: str | None, *, at_least: str | None = None
) -> int | None:
    with translated_errors(unique_violation=ExternalIdTaken):
        return _adopt_platform_id(conn, message_id, external_id, at_least=at_least)


def _adopt_platform_id(
    conn: psycopg.Connection[Any], message_id: int, external_id: str | None, *, at_least: str | None
) -> int | None:
    echo_status = None
    if external_id is not None:
        row = conn.execute("SELECT fold_connector_echo(%s, %s)", (message_id, external_id)).fetchone()
        echo_status = row[0] if row else None
    updated = conn.execute(
        """
        WITH wanted AS (
            SELECT m.id, (
                SELECT s FROM unnest(ARRAY[m.status, %(at_least)s, %(echo_status)s]) s
                WHERE s IS NOT NULL ORDER BY message_status_rank(s) DESC LIMIT 1) AS status
            FROM messages m WHERE m.id = %(id)s AND m.direction = 'outbound' FOR UPDATE
        )
        UPDATE messages m
        SET external_id = COALESCE(%(external_id)s, m.external_id),
            status = w.status,
            status_updated_at = CASE WHEN w.status <> m.status THEN now() ELSE m.status_updated_at END
        FROM wanted w
        WHERE m.id = w.id
          AND (w.status <> m.status OR m.external_id IS DISTINCT FROM COALESCE(%(external_id)s, m.external_id))
        RETURNING m.id
        """,
        {"id": message_id, "external_id": external_id, "at_least": at_least, "echo_status": echo_status},
    ).fetchone()
    return int(updated[0]) if updated else None


NOT_DELIVERED_TITLE = "Not delivered to the connector"


def fail_undelivered_reply(conn: psycopg.Connection[Any], message_id: int, *, delivery_id: UUID) -> int | None:
    """The delivery was given up (24 hours of failures, a 410, the callback URL removed): a reply still pending
    is failed, with the delivery's last error (recorded just before, in this transaction) as its details. One the
    connector's status report already moved is left as it says."""
    row = conn.execute(
        """
        UPDATE messages
        SET status = 'failed', status_updated_at = now(), error_code = NULL, error_title = %s,
            error_details = (SELECT d.last_error FROM deliveries d WHERE d.id = %s)
        WHERE id = %s AND direction = 'outbound' AND status = 'pending'
        RETURNING id
        """,
        (NOT_DELIVERED_TITLE, delivery_id, message_id),
    ).fetchone()
    return int(row[0]) if row else None


# ---------------------------------------------------------------------------------------------------------------
# Statuses a connector reports (POST /v1/ingest/statuses)
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class ConnectorStatusBatch:
    """Column-wise input: one entry per reported status, in the request's order."""

    positions: list[int] = field(default_factory=list)
    message_ids: list[int | None] = field(default_factory=list)
    external_ids: list[str | None] = field(default_factory=list)
    external_conversation_ids: list[str | None] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    status_at: list[datetime] = field(default_factory=list)
    error_codes: list[int | None] = field(default_factory=list)
    error_titles: list[str | None] = field(default_factory=list)


@dataclass(frozen=True)
class StatusOutcome:
    position: int
    # The messages the status names (several: an external id that repeats across conversations).
    message_ids: list[int]
    # Whether this status moved its message (the first, most advanced one for a message speaks for the others).
    advanced: bool
    current_status: str | None


_APPLY_CONNECTOR_STATUSES = f"""
WITH
input_statuses AS (
    SELECT * FROM unnest(
        %(positions)b::integer[], %(message_ids)b::bigint[], %(external_ids)b::text[],
        %(external_conversation_ids)b::text[], %(statuses)b::text[], %(status_at)b::timestamptz[],
        %(error_codes)b::integer[], %(error_titles)b::text[]
    ) AS s (position, message_id, external_id, external_conversation_id, status, status_at, error_code, error_title)
),
-- The outbound messages of this connection's conversations that each status names: by Threadline's id, or by the
-- platform's id (unique per conversation; `external_conversation_id` narrows it when the platform's ids are per chat).
matches AS (
    SELECT s.position, m.id AS message_id, s.status, s.status_at, s.error_code, s.error_title
    FROM input_statuses s
    JOIN messages m ON m.id = s.message_id AND m.tenant_id = %(tenant_id)b AND m.direction = 'outbound'
    JOIN conversations v ON v.id = m.conversation_id AND v.connection_id = %(connection_uuid)b
    WHERE s.message_id IS NOT NULL
    UNION ALL
    SELECT s.position, m.id, s.status, s.status_at, s.error_code, s.error_title
    FROM input_statuses s
    JOIN messages m ON m.tenant_id = %(tenant_id)b AND m.external_id = s.external_id AND m.direction = 'outbound'
    JOIN conversations v ON v.id = m.conversation_id AND v.connection_id = %(connection_uuid)b
                        AND (s.external_conversation_id IS NULL OR v.external_conversation_id = s.external_conversation_id)
    WHERE s.message_id IS NULL
),
-- Several statuses for one message in one request: the most advanced one speaks for them (as Meta's webhook).
targets AS (
    SELECT DISTINCT ON (message_id) position, message_id, status, status_at, error_code, error_title,
           NULL::text AS error_details, NULL::text AS external_id, NULL::jsonb AS pricing,
           NULL::jsonb AS billing_conversation
    FROM matches
    WHERE position IN (SELECT position FROM matches GROUP BY position HAVING count(*) = 1)
    ORDER BY message_id, message_status_rank(status) DESC, status_at DESC, position
),
-- Forward only, one way for every channel (threadline.db.repositories.statuses).
{ADVANCE_STATUSES}
SELECT s.position,
       ARRAY(SELECT x.message_id FROM matches x WHERE x.position = s.position ORDER BY x.message_id) AS message_ids,
       EXISTS (SELECT 1 FROM targets t JOIN advanced a ON a.id = t.message_id WHERE t.position = s.position)
           AS advanced,
       (SELECT COALESCE(a.status, m.status) FROM matches x
            JOIN messages m ON m.id = x.message_id LEFT JOIN advanced a ON a.id = x.message_id
        WHERE x.position = s.position LIMIT 1) AS current_status
FROM input_statuses s
ORDER BY s.position
"""


def apply_connector_statuses(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, connection_uuid: UUID, batch: ConnectorStatusBatch
) -> list[StatusOutcome]:
    """One statement, whatever the number of statuses."""
    params: dict[str, Any] = dict(vars(batch))
    params |= {"tenant_id": tenant_id, "connection_uuid": connection_uuid, **advance_parameters()}
    with conn.cursor(row_factory=class_row(StatusOutcome)) as cursor:
        return cursor.execute(_APPLY_CONNECTOR_STATUSES, params).fetchall()


def find_connection_message(conn: psycopg.Connection[Any], connection_uuid: UUID, message_id: int) -> str | None:
    """The external id of an outbound message in one of this connection's conversations (None: not one of its)."""
    row = conn.execute(
        """
        SELECT m.external_id FROM messages m JOIN conversations v ON v.id = m.conversation_id
        WHERE m.id = %s AND m.direction = 'outbound' AND v.connection_id = %s
        """,
        (message_id, connection_uuid),
    ).fetchone()
    return str(row[0]) if row else None
