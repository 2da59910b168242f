"""Connector connections: authentication lookup (before any tenant is known) and administration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class ConnectionForAuth:
    id: UUID
    tenant_id: UUID
    platform: str
    api_secret_sha256: str
    is_active: bool
    phone_number_id: str | None


def find_connection_for_auth(conn: psycopg.Connection[Any], connection_id: str) -> ConnectionForAuth | None:
    # A SECURITY DEFINER function: the one narrow way through RLS for a caller that has no tenant yet.
    with conn.cursor(row_factory=class_row(ConnectionForAuth)) as cursor:
        return cursor.execute("SELECT * FROM find_connection_for_auth(%s)", (connection_id,)).fetchone()


@dataclass(frozen=True)
class ConnectionRecord:
    id: UUID
    tenant_id: UUID
    connection_id: str
    platform: str
    phone_number_id: str | None
    is_active: bool
    reply_window_hours: int | None
    max_replies_per_window: int | None
    waba_id: str | None = None


_RECORD_COLUMNS = (
    "id, tenant_id, connection_id, platform, phone_number_id, is_active, reply_window_hours, max_replies_per_window,"
    " waba_id"
)


def insert_connection(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    connection_id: str,
    platform: str,
    api_secret_sha256: str,
    phone_number_id: str | None,
    reply_window_hours: int | None,
    max_replies_per_window: int | None,
) -> ConnectionRecord:
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        row = cursor.execute(
            "INSERT INTO connections (tenant_id, connection_id, platform, api_secret_sha256, phone_number_id,"
            " reply_window_hours, max_replies_per_window)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_RECORD_COLUMNS}",
            (
                tenant_id,
                connection_id,
                platform,
                api_secret_sha256,
                phone_number_id,
                reply_window_hours,
                max_replies_per_window,
            ),
        ).fetchone()
    assert row is not None
    return row


def find_connection(conn: psycopg.Connection[Any], connection_id: str) -> ConnectionRecord | None:
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        return cursor.execute(
            f"SELECT {_RECORD_COLUMNS} FROM connections WHERE connection_id = %s", (connection_id,)
        ).fetchone()


def set_connection_active(
    conn: psycopg.Connection[Any], connection_id: str, *, is_active: bool
) -> ConnectionRecord | None:
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        return cursor.execute(
            f"UPDATE connections SET is_active = %s WHERE connection_id = %s RETURNING {_RECORD_COLUMNS}",
            (is_active, connection_id),
        ).fetchone()


def update_api_secret_digest(conn: psycopg.Connection[Any], connection_id: str, api_secret_sha256: str) -> bool:
    updated = conn.execute(
        "UPDATE connections SET api_secret_sha256 = %s WHERE connection_id = %s RETURNING id",
        (api_secret_sha256, connection_id),
    ).fetchone()
    return updated is not None


def set_reply_rule(
    conn: psycopg.Connection[Any],
    connection_id: str,
    *,
    reply_window_hours: int | None,
    max_replies_per_window: int | None,
) -> ConnectionRecord | None:
    """Change the connection's reply rule, and move the windows of its conversations to it at once: a window still
    as the old rule made it (last inbound + the old hours; none under no rule) becomes last inbound + the new hours
    (or none). A window the channel closed early (Meta's 131047) stays closed. One statement, however many
    conversations the connection has."""
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        return cursor.execute(
            f"""
            WITH previous AS (
                SELECT id, reply_window_hours FROM connections WHERE connection_id = %(connection_id)s FOR UPDATE
            ),
            changed AS (
                UPDATE connections k
                SET reply_window_hours = %(hours)s, max_replies_per_window = %(cap)s
                FROM previous
                WHERE k.id = previous.id
                RETURNING k.*
            ),
            moved AS (
                UPDATE conversations v
                SET window_expires_at = v.last_inbound_at + make_interval(hours => %(hours)s), updated_at = now()
                FROM previous
                WHERE v.connection_id = previous.id AND v.last_inbound_at IS NOT NULL
                  AND v.window_expires_at IS NOT DISTINCT FROM
                      v.last_inbound_at + make_interval(hours => previous.reply_window_hours)
                  AND previous.reply_window_hours IS DISTINCT FROM %(hours)s
            )
            SELECT {_RECORD_COLUMNS} FROM changed
            """,
            {"connection_id": connection_id, "hours": reply_window_hours, "cap": max_replies_per_window},
        ).fetchone()
