"""Meta's notifications Threadline could not place (migration 0031): written by the webhook through the
`record_whatsapp_dead_letters` door (it knows no tenant, and a row may name none), read and marked by the
`threadline` CLI as the schema owner (which sees every tenant's rows and those that name none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class NewDeadLetter:
    phone_number_id: str | None
    reason: str
    raw: bytes


@dataclass(frozen=True)
class DeadLetter:
    id: int
    tenant_id: UUID | None
    phone_number_id: str | None
    reason: str
    raw: bytes
    received_at: datetime
    replayed_at: datetime | None
    replay_attempts: int
    last_replay_at: datetime | None


def record_dead_letters(conn: psycopg.Connection[Any], letters: Sequence[NewDeadLetter]) -> int:
    """Keep each one (a notification already kept is not kept twice); returns how many were new."""
    if not letters:
        return 0
    row = conn.execute(
        "SELECT record_whatsapp_dead_letters(%s::text[], %s::text[], %s::bytea[])",
        (
            [letter.phone_number_id for letter in letters],
            [letter.reason for letter in letters],
            [letter.raw for letter in letters],
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


_COLUMNS = """id, tenant_id, phone_number_id, reason, raw, received_at, replayed_at, replay_attempts,
    last_replay_at"""


def list_dead_letters(
    conn: psycopg.Connection[Any], *, tenant_id: UUID | None, include_replayed: bool, limit: int
) -> list[DeadLetter]:
    """Oldest first: the unresolved ones, or all of them; only one tenant's when `tenant_id` is given."""
    with conn.cursor(row_factory=class_row(DeadLetter)) as cursor:
        return cursor.execute(
            f"""
            SELECT {_COLUMNS} FROM whatsapp_dead_letters
            WHERE (%(include_replayed)s OR replayed_at IS NULL)
              AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
            ORDER BY received_at, id
            LIMIT %(limit)s
            """,
            {"tenant_id": tenant_id, "include_replayed": include_replayed, "limit": limit},
        ).fetchall()


def find_dead_letter(conn: psycopg.Connection[Any], dead_letter_id: int) -> DeadLetter | None:
    with conn.cursor(row_factory=class_row(DeadLetter)) as cursor:
        return cursor.execute(
            f"SELECT {_COLUMNS} FROM whatsapp_dead_letters WHERE id = %s FOR UPDATE", (dead_letter_id,)
        ).fetchone()


def record_replay(conn: psycopg.Connection[Any], dead_letter_id: int, *, remaining_reason: str | None) -> DeadLetter:
    """A replay ran: resolved when nothing remained unplaced, else the reason now."""
    with conn.cursor(row_factory=class_row(DeadLetter)) as cursor:
        row = cursor.execute(
            f"""
            UPDATE whatsapp_dead_letters
            SET replay_attempts = replay_attempts + 1, last_replay_at = now(),
                replayed_at = CASE WHEN %(reason)s::text IS NULL THEN now() END,
                reason = COALESCE(%(reason)s::text, reason)
            WHERE id = %(id)s
            RETURNING {_COLUMNS}
            """,
            {"id": dead_letter_id, "reason": remaining_reason},
        ).fetchone()
    assert row is not None
    return row
