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


def insert_connection(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    connection_id: str,
    platform: str,
    api_secret_sha256: str,
    phone_number_id: str | None,
) -> ConnectionRecord:
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        row = cursor.execute(
            "INSERT INTO connections (tenant_id, connection_id, platform, api_secret_sha256, phone_number_id)"
            " VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id, tenant_id, connection_id, platform, phone_number_id, is_active",
            (tenant_id, connection_id, platform, api_secret_sha256, phone_number_id),
        ).fetchone()
    assert row is not None
    return row


def set_connection_active(
    conn: psycopg.Connection[Any], connection_id: str, *, is_active: bool
) -> ConnectionRecord | None:
    with conn.cursor(row_factory=class_row(ConnectionRecord)) as cursor:
        return cursor.execute(
            "UPDATE connections SET is_active = %s WHERE connection_id = %s"
            " RETURNING id, tenant_id, connection_id, platform, phone_number_id, is_active",
            (is_active, connection_id),
        ).fetchone()


def update_api_secret_digest(conn: psycopg.Connection[Any], connection_id: str, api_secret_sha256: str) -> bool:
    updated = conn.execute(
        "UPDATE connections SET api_secret_sha256 = %s WHERE connection_id = %s RETURNING id",
        (api_secret_sha256, connection_id),
    ).fetchone()
    return updated is not None
