"""The inbox counts: sums of the delta ledger that migration 0014's triggers append to on every change of a
conversation's status, assignee or team (and on every creation and deletion). A read sums the tenant's rows for
the statuses asked, never counting conversations: its cost follows the number of (status, assignee, team) keys in
use, not the number of conversations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class CountsRow:
    all: int
    unassigned: int
    mine: int


@dataclass(frozen=True)
class TeamCountsRow:
    id: UUID
    name: str
    all: int
    unassigned: int


def sum_inbox_counts(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, statuses: list[str], agent_id: UUID | None
) -> CountsRow:
    query = """
        SELECT COALESCE(sum(delta), 0)::int AS all,
               COALESCE(sum(delta) FILTER (WHERE assignee_id IS NULL), 0)::int AS unassigned,
               COALESCE(sum(delta) FILTER (WHERE assignee_id = %(agent_id)s), 0)::int AS mine
        FROM inbox_count_deltas
        WHERE tenant_id = %(tenant_id)s AND status = ANY(%(statuses)s)
    """
    with conn.cursor(row_factory=class_row(CountsRow)) as cursor:
        row = cursor.execute(query, {"tenant_id": tenant_id, "statuses": statuses, "agent_id": agent_id}).fetchone()
    assert row is not None
    return row


def sum_team_counts(conn: psycopg.Connection[Any], *, tenant_id: UUID, statuses: list[str]) -> list[TeamCountsRow]:
    """Every team of the tenant (with zeros for a team without conversations), by name."""
    query = """
        SELECT t.id, t.name,
               COALESCE(sum(d.delta), 0)::int AS all,
               COALESCE(sum(d.delta) FILTER (WHERE d.assignee_id IS NULL), 0)::int AS unassigned
        FROM teams t
        LEFT JOIN inbox_count_deltas d
               ON d.tenant_id = t.tenant_id AND d.team_id = t.id AND d.status = ANY(%(statuses)s)
        WHERE t.tenant_id = %(tenant_id)s
        GROUP BY t.id, t.name
        ORDER BY t.name, t.id
    """
    with conn.cursor(row_factory=class_row(TeamCountsRow)) as cursor:
        return cursor.execute(query, {"tenant_id": tenant_id, "statuses": statuses}).fetchall()


@dataclass(frozen=True)
class Compaction:
    rows_before: int
    rows_after: int


def compact_count_deltas(conn: psycopg.Connection[Any]) -> Compaction:
    """Every tenant's ledger replaced by its sums (compact_inbox_count_deltas, 0014: the one door through RLS)."""
    with conn.cursor(row_factory=class_row(Compaction)) as cursor:
        row = cursor.execute("SELECT rows_before, rows_after FROM compact_inbox_count_deltas()").fetchone()
    assert row is not None
    return row


@dataclass(frozen=True)
class KeyCountRow:
    status: str
    assignee_id: UUID | None
    team_id: UUID | None
    count: int


def sum_by_key(conn: psycopg.Connection[Any], *, tenant_id: UUID) -> list[KeyCountRow]:
    """The tenant's counts per (status, assignee, team) in use: what the inbox_counts frame is made of."""
    query = """
        SELECT status, assignee_id, team_id, sum(delta)::int AS count
        FROM inbox_count_deltas
        WHERE tenant_id = %(tenant_id)s
        GROUP BY status, assignee_id, team_id
        HAVING sum(delta) <> 0
        ORDER BY status, assignee_id NULLS FIRST, team_id NULLS FIRST
    """
    with conn.cursor(row_factory=class_row(KeyCountRow)) as cursor:
        return cursor.execute(query, {"tenant_id": tenant_id}).fetchall()
