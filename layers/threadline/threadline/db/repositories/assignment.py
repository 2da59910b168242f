"""Who takes a conversation: the agents and teams of a tenant, their load, and the statements auto-assignment is
made of (all under RLS as the transaction's tenant).

An agent's load is their open and pending conversations (threadline.vocabulary.LOAD_STATUSES), counted by the
partial index of migration 0012. The cap is enforced by serialising assignments on the chosen agent's row:
`lock_agent` takes the row lock, and only then is the load counted again, by a new statement, which in READ
COMMITTED sees every assignment committed before the lock was granted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.vocabulary import LOAD_STATUSES, Availability

_LOAD_STATUSES = list(LOAD_STATUSES)


@dataclass(frozen=True)
class AgentWithLoad:
    id: UUID
    name: str
    email: str | None
    avatar_url: str | None
    availability: Availability
    open_conversations: int


@dataclass(frozen=True)
class TeamWithMembers:
    id: UUID
    name: str
    auto_assign: bool | None
    max_open_per_agent: int | None
    members: list[dict[str, Any]]


@dataclass(frozen=True)
class AssignmentTarget:
    """A conversation auto-assignment may hand out, and the rules that apply to it."""

    conversation_id: int
    # The team whose members take it (a team with its own auto-assignment setting); None = any agent.
    pool_team_id: UUID | None
    # At most this many open conversations per agent; None = no cap.
    cap: int | None
    assignee_id: UUID | None


@dataclass(frozen=True)
class Candidate:
    id: UUID
    name: str
    avatar_url: str | None
    load: int


def list_agents(conn: psycopg.Connection[Any], tenant_id: UUID) -> list[AgentWithLoad]:
    with conn.cursor(row_factory=class_row(AgentWithLoad)) as cursor:
        return cursor.execute(
            """
            SELECT u.id, u.name, u.email, u.avatar_url, u.availability,
                   (SELECT count(*) FROM conversations c
                    WHERE c.tenant_id = u.tenant_id AND c.assignee_id = u.id AND c.status = ANY(%(load)s))::int
                       AS open_conversations
            FROM users u
            WHERE u.tenant_id = %(tenant_id)s
            ORDER BY u.name, u.id
            """,
            {"tenant_id": tenant_id, "load": _LOAD_STATUSES},
        ).fetchall()


def set_availability(conn: psycopg.Connection[Any], user_id: UUID, availability: Availability) -> Availability | None:
    """The agent's availability before the change; None when the user is not the tenant's."""
    row = conn.execute(
        """
        UPDATE users u SET availability = %(availability)s
        FROM (SELECT id, availability FROM users WHERE id = %(user_id)s FOR UPDATE) before
        WHERE u.id = before.id
        RETURNING before.availability
        """,
        {"user_id": user_id, "availability": availability},
    ).fetchone()
    return row[0] if row else None


def list_teams(conn: psycopg.Connection[Any], tenant_id: UUID) -> list[TeamWithMembers]:
    with conn.cursor(row_factory=class_row(TeamWithMembers)) as cursor:
        return cursor.execute(
            """
            SELECT t.id, t.name, t.auto_assign, t.max_open_per_agent,
                   COALESCE((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name,
                                                                 'availability', u.availability)
                                              ORDER BY u.name, u.id)
                             FROM team_members m JOIN users u ON u.id = m.user_id
                             WHERE m.team_id = t.id), '[]'::jsonb) AS members
            FROM teams t
            WHERE t.tenant_id = %s
            ORDER BY t.name, t.id
            """,
            (tenant_id,),
        ).fetchall()


_TARGETS = """
    SELECT c.id AS conversation_id,
           CASE WHEN m.auto_assign IS NOT NULL THEN m.id END AS pool_team_id,
           COALESCE(m.max_open_per_agent, t.max_open_per_agent) AS cap,
           c.assignee_id
    FROM conversations c
    JOIN tenants t ON t.id = c.tenant_id
    LEFT JOIN teams m ON m.id = c.team_id
    LEFT JOIN users u ON u.id = c.assignee_id
    WHERE c.id = ANY(%(conversation_ids)s) AND c.status = 'open' AND c.platform <> 'workspace'
      AND COALESCE(m.auto_assign, t.auto_assign)
      AND (c.assignee_id IS NULL OR (%(reassign_offline)s AND u.availability = 'offline'))
    ORDER BY c.id
"""


def find_assignment_targets(
    conn: psycopg.Connection[Any], conversation_ids: Sequence[int], *, reassign_offline: bool
) -> list[AssignmentTarget]:
    """Which of these conversations auto-assignment should hand out: open, in a tenant (or team) that
    auto-assigns, and unassigned (or, with `reassign_offline`, assigned to an offline agent)."""
    with conn.cursor(row_factory=class_row(AssignmentTarget)) as cursor:
        return cursor.execute(
            _TARGETS, {"conversation_ids": list(conversation_ids), "reassign_offline": reassign_offline}
        ).fetchall()


def lock_assignment_target(
    conn: psycopg.Connection[Any], conversation_id: int, *, reassign_offline: bool
) -> AssignmentTarget | None:
    """As find_assignment_targets for one conversation, locking it: None when it no longer needs an agent."""
    with conn.cursor(row_factory=class_row(AssignmentTarget)) as cursor:
        return cursor.execute(
            _TARGETS + " FOR UPDATE OF c",
            {"conversation_ids": [conversation_id], "reassign_offline": reassign_offline},
        ).fetchone()


def rank_candidates(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, pool_team_id: UUID | None, cap: int | None, limit: int
) -> list[Candidate]:
    """Online agents (of the team, when there is one) below the cap: fewest open conversations first, then the
    longest since their last assignment (never assigned first)."""
    with conn.cursor(row_factory=class_row(Candidate)) as cursor:
        return cursor.execute(
            """
            SELECT u.id, u.name, u.avatar_url, count(c.id)::int AS load
            FROM users u
            LEFT JOIN conversations c
              ON c.tenant_id = u.tenant_id AND c.assignee_id = u.id AND c.status = ANY(%(load)s)
            WHERE u.tenant_id = %(tenant_id)s AND u.availability = 'online'
              AND (%(team_id)s::uuid IS NULL
                   OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = %(team_id)s AND m.user_id = u.id))
            GROUP BY u.id
            HAVING %(cap)s::int IS NULL OR count(c.id) < %(cap)s
            ORDER BY load, u.last_assigned_at NULLS FIRST, u.id
            LIMIT %(limit)s
            """,
            {"tenant_id": tenant_id, "team_id": pool_team_id, "cap": cap, "limit": limit, "load": _LOAD_STATUSES},
        ).fetchall()


def lock_agent(conn: psycopg.Connection[Any], user_id: UUID) -> Availability | None:
    """Take the agent's row lock (assignments to one agent queue here); their availability now."""
    row = conn.execute("SELECT availability FROM users WHERE id = %s FOR UPDATE", (user_id,)).fetchone()
    return row[0] if row else None


def count_load(conn: psycopg.Connection[Any], *, tenant_id: UUID, user_id: UUID) -> int:
    """The agent's open and pending conversations, as committed now (call it after lock_agent)."""
    row = conn.execute(
        "SELECT count(*) FROM conversations WHERE tenant_id = %s AND assignee_id = %s AND status = ANY(%s)",
        (tenant_id, user_id, _LOAD_STATUSES),
    ).fetchone()
    assert row is not None
    return int(row[0])


def assign_conversation(conn: psycopg.Connection[Any], *, conversation_id: int, user_id: UUID) -> int:
    """Give the conversation to the agent; its new version."""
    row = conn.execute(
        "UPDATE conversations SET assignee_id = %s, updated_at = now() WHERE id = %s RETURNING version",
        (user_id, conversation_id),
    ).fetchone()
    assert row is not None
    conn.execute("UPDATE users SET last_assigned_at = now() WHERE id = %s", (user_id,))
    return int(row[0])


def queue_head(conn: psycopg.Connection[Any], *, tenant_id: UUID, limit: int) -> list[int]:
    """The unassigned open conversations, oldest waiting first (then oldest created): the partial index of 0012."""
    rows = conn.execute(
        """
        SELECT id FROM conversations
        WHERE tenant_id = %s AND assignee_id IS NULL AND status = 'open' AND platform <> 'workspace'
        ORDER BY waiting_since NULLS LAST, created_at, id
        LIMIT %s
        """,
        (tenant_id, limit),
    ).fetchall()
    return [int(row[0]) for row in rows]


def set_tenant_assignment(
    conn: psycopg.Connection[Any],
    tenant_id: UUID,
    *,
    auto_assign: bool | None,
    max_open_per_agent: int | None,
    clear_cap: bool,
    read_receipts: str | None,
    keep_revoked_content: bool | None = None,
) -> dict[str, Any] | None:
    """Administration (the CLI, as the schema owner): change a tenant's settings; the settings after.
    `keep_revoked_content` (migration 0035): whether what a customer's deleted message said is kept for audit."""
    row = conn.execute(
        """
        UPDATE tenants
        SET auto_assign = COALESCE(%(auto_assign)s, auto_assign),
            max_open_per_agent = CASE WHEN %(clear_cap)s THEN NULL
                                      ELSE COALESCE(%(cap)s, max_open_per_agent) END,
            read_receipts = COALESCE(%(read_receipts)s, read_receipts),
            keep_revoked_content = COALESCE(%(keep_revoked_content)s, keep_revoked_content)
        WHERE id = %(tenant_id)s
        RETURNING id, auto_assign, max_open_per_agent, read_receipts, keep_revoked_content
        """,
        {
            "tenant_id": tenant_id,
            "auto_assign": auto_assign,
            "cap": max_open_per_agent,
            "clear_cap": clear_cap,
            "read_receipts": read_receipts,
            "keep_revoked_content": keep_revoked_content,
        },
    ).fetchone()
    if row is None:
        return None
    return {
        "id": row[0],
        "auto_assign": row[1],
        "max_open_per_agent": row[2],
        "read_receipts": row[3],
        "keep_revoked_content": row[4],
    }


def insert_team(conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str) -> dict[str, Any]:
    row = conn.execute(
        "INSERT INTO teams (tenant_id, name) VALUES (%s, %s) RETURNING id, tenant_id, name", (tenant_id, name)
    ).fetchone()
    assert row is not None
    return {"id": row[0], "tenant_id": row[1], "name": row[2]}


def insert_team_member(conn: psycopg.Connection[Any], *, team_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    """Add a user of the team's tenant to the team (twice is not an error); None when no such team."""
    row = conn.execute(
        """
        INSERT INTO team_members (tenant_id, team_id, user_id)
        SELECT t.tenant_id, t.id, %(user_id)s FROM teams t WHERE t.id = %(team_id)s
        ON CONFLICT (team_id, user_id) DO UPDATE SET user_id = EXCLUDED.user_id
        RETURNING team_id, user_id
        """,
        {"team_id": team_id, "user_id": user_id},
    ).fetchone()
    return {"team_id": row[0], "user_id": row[1]} if row else None


def set_team_assignment(
    conn: psycopg.Connection[Any],
    team_id: UUID,
    *,
    auto_assign: bool | None,
    max_open_per_agent: int | None,
    clear_cap: bool,
) -> dict[str, Any] | None:
    row = conn.execute(
        """
        UPDATE teams
        SET auto_assign = COALESCE(%(auto_assign)s, auto_assign),
            max_open_per_agent = CASE WHEN %(clear_cap)s THEN NULL
                                      ELSE COALESCE(%(cap)s, max_open_per_agent) END
        WHERE id = %(team_id)s
        RETURNING id, tenant_id, name, auto_assign, max_open_per_agent
        """,
        {"team_id": team_id, "auto_assign": auto_assign, "cap": max_open_per_agent, "clear_cap": clear_cap},
    ).fetchone()
    if row is None:
        return None
    keys = ("id", "tenant_id", "name", "auto_assign", "max_open_per_agent")
    return dict(zip(keys, row, strict=True))
