"""Connector connections: creation (the API secret is returned once and only its digest is kept) and deactivation."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from threadline.db.repositories.connections import (
    ConnectionRecord,
    insert_connection,
    set_connection_active,
    update_api_secret_digest,
)
from threadline.domain.secrets import digest_api_secret, generate_api_secret
from threadline.errors import InvalidRequest, NotFound
from threadline.vocabulary import PLATFORMS

_CONNECTION_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True)
class CreatedConnection:
    connection: ConnectionRecord
    api_secret: str


def create_connection(
    conn: psycopg.Connection[Any],
    *,
    tenant_id: UUID,
    platform: str,
    connection_id: str | None = None,
    phone_number_id: str | None = None,
) -> CreatedConnection:
    if platform not in PLATFORMS:
        raise InvalidRequest(f"platform must be one of {', '.join(PLATFORMS)}")
    connection_id = connection_id or f"{platform}_{secrets.token_hex(6)}"
    if not _CONNECTION_ID_SHAPE.match(connection_id):
        raise InvalidRequest("connection id: 1-200 letters, digits, '_', '.', ':' or '-'")
    api_secret = generate_api_secret()
    record = insert_connection(
        conn,
        tenant_id=tenant_id,
        connection_id=connection_id,
        platform=platform,
        api_secret_sha256=digest_api_secret(api_secret),
        phone_number_id=phone_number_id,
    )
    return CreatedConnection(connection=record, api_secret=api_secret)


def deactivate_connection(conn: psycopg.Connection[Any], connection_id: str) -> ConnectionRecord:
    record = set_connection_active(conn, connection_id, is_active=False)
    if record is None:
        raise NotFound(f"No connection {connection_id}")
    return record


def rotate_api_secret(conn: psycopg.Connection[Any], connection_id: str) -> str:
    api_secret = generate_api_secret()
    if not update_api_secret_digest(conn, connection_id, digest_api_secret(api_secret)):
        raise NotFound(f"No connection {connection_id}")
    return api_secret
