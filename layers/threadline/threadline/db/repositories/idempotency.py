"""Idempotency keys: the first request with a key claims it; its outcome is stored for every retry to replay.

The claim is a primary-key insert, so of two concurrent requests with one key exactly one wins; the other
blocks on the key until the winner's transaction commits and then sees the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class IdempotencyRecord:
    request_fingerprint: str
    message_id: int | None
    response_status: int | None
    response_body: dict[str, Any] | None
    created_at: datetime
    completed_at: datetime | None


def claim_idempotency_key(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, key: str, fingerprint: str
) -> IdempotencyRecord | None:
    """Claim `key` for this request. Returns None when claimed now, or the existing record of an earlier claim."""
    claimed = conn.execute(
        """
        INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_fingerprint) VALUES (%s, %s, %s)
        ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
        RETURNING 1
        """,
        (tenant_id, key, fingerprint),
    ).fetchone()
    if claimed is not None:
        return None
    record = find_idempotency_record(conn, key)
    assert record is not None, "a conflicting key is visible once its claim committed"
    return record


def find_idempotency_record(conn: psycopg.Connection[Any], key: str) -> IdempotencyRecord | None:
    with conn.cursor(row_factory=class_row(IdempotencyRecord)) as cursor:
        return cursor.execute(
            """
            SELECT request_fingerprint, message_id, response_status, response_body, created_at, completed_at
            FROM idempotency_keys WHERE idempotency_key = %s
            """,
            (key,),
        ).fetchone()


def attach_message_to_key(conn: psycopg.Connection[Any], key: str, message_id: int) -> None:
    conn.execute("UPDATE idempotency_keys SET message_id = %s WHERE idempotency_key = %s", (message_id, key))


def complete_idempotency_key(
    conn: psycopg.Connection[Any], key: str, *, response_status: int, response_body: dict[str, Any]
) -> None:
    conn.execute(
        """
        UPDATE idempotency_keys SET response_status = %s, response_body = %s, completed_at = now()
        WHERE idempotency_key = %s
        """,
        (response_status, Jsonb(response_body), key),
    )


def release_idempotency_key(conn: psycopg.Connection[Any], key: str) -> None:
    """Forget a claim whose request certainly had no effect, so that a retry may try again."""
    conn.execute("DELETE FROM idempotency_keys WHERE idempotency_key = %s AND completed_at IS NULL", (key,))
