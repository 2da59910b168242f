"""Arranging a team inbox (a tenant with agents, teams and settings) and calling its routes through the template's
routing, as the local gateway does."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from tests.support.factories import Connector
from tests.support.ingest import batch, call_ingest, conversation, message
from tests.support.read import claims_for
from tests.support.routes import route_response


@dataclass(frozen=True)
class Inbox:
    connector: Connector
    agents: dict[str, uuid.UUID]

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.connector.tenant_id

    def claims(self, agent: str | None = None) -> dict[str, str]:
        """A token of this tenant for `agent` (a name given to make_inbox), or a service token without a user."""
        return claims_for(self.tenant_id, self.agents[agent] if agent else None)


def add_agent(
    admin: psycopg.Connection[Any], tenant_id: uuid.UUID, name: str, availability: str = "offline"
) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO users (tenant_id, name, email, availability) VALUES (%s, %s, %s, %s) RETURNING id",
        (tenant_id, name, f"{name.lower()}-{uuid.uuid4().hex[:6]}@agents.test", availability),
    ).fetchone()
    assert row is not None
    return row[0]


def make_inbox(make_connector: Any, admin: psycopg.Connection[Any], *names: str, online: bool = False) -> Inbox:
    connector = make_connector("whatsapp")
    availability = "online" if online else "offline"
    return Inbox(connector, {name: add_agent(admin, connector.tenant_id, name, availability) for name in names})


def add_team(admin: psycopg.Connection[Any], inbox: Inbox, name: str, *members: str, **settings: Any) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO teams (tenant_id, name, auto_assign, max_open_per_agent) VALUES (%s, %s, %s, %s) RETURNING id",
        (inbox.tenant_id, name, settings.get("auto_assign"), settings.get("max_open_per_agent")),
    ).fetchone()
    assert row is not None
    for member in members:
        admin.execute(
            "INSERT INTO team_members (tenant_id, team_id, user_id) VALUES (%s, %s, %s)",
            (inbox.tenant_id, row[0], inbox.agents[member]),
        )
    return row[0]


def configure_tenant(admin: psycopg.Connection[Any], inbox: Inbox, *, auto_assign: bool, cap: int | None) -> None:
    admin.execute(
        "UPDATE tenants SET auto_assign = %s, max_open_per_agent = %s WHERE id = %s",
        (auto_assign, cap, inbox.tenant_id),
    )


def customer_writes(inbox: Inbox, external_id: str, *, phone: str | None = None, direction: str = "inbound") -> int:
    """A connector pushes one new message of the customer (or, outbound, of the business) in that conversation."""
    sent_at = datetime.now(UTC).isoformat()
    body = batch(
        inbox.connector,
        conversation(
            external_id,
            phone or f"+1555{uuid.uuid5(uuid.NAMESPACE_URL, external_id).int % 10**7:07d}",
            message(f"m_{uuid.uuid4().hex[:10]}", sent_at, direction=direction),
        ),
    )
    status, answer = call_ingest(body, api_key=inbox.connector.api_secret)
    assert status == 200, answer
    return int(answer["results"][0]["conversation_id"])


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    method: str, path: str, *, claims: dict[str, str], body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    response = route_response(method, path, body=body, claims=claims, headers=headers)
    return Answer(response["statusCode"], json.loads(response["body"]), dict(response.get("headers") or {}))


def patch(
    conversation_id: int, body: Any, *, claims: dict[str, str], if_match: str | None = None, prefix: str = "/v1"
) -> Answer:
    headers = {"If-Match": if_match} if if_match is not None else None
    return call("PATCH", f"{prefix}/conversations/{conversation_id}", claims=claims, body=body, headers=headers)


def activity(admin: psycopg.Connection[Any], conversation_id: int) -> list[str]:
    """The conversation's activity messages, oldest first."""
    rows = admin.execute(
        "SELECT content FROM messages WHERE conversation_id = %s AND is_system AND source = 'activity' ORDER BY id",
        (conversation_id,),
    ).fetchall()
    return [row[0] for row in rows]


def state(admin: psycopg.Connection[Any], conversation_id: int) -> dict[str, Any]:
    row = admin.execute(
        "SELECT status, snoozed_until, assignee_id, team_id, priority, version FROM conversations WHERE id = %s",
        (conversation_id,),
    ).fetchone()
    assert row is not None
    return dict(zip(("status", "snoozed_until", "assignee_id", "team_id", "priority", "version"), row, strict=True))


def loads(admin: psycopg.Connection[Any], inbox: Inbox) -> dict[str, int]:
    """Each agent's open and pending conversations."""
    rows = admin.execute(
        """
        SELECT u.name, count(c.id) FROM users u
        LEFT JOIN conversations c ON c.assignee_id = u.id AND c.status IN ('open', 'pending')
        WHERE u.tenant_id = %s GROUP BY u.name
        """,
        (inbox.tenant_id,),
    ).fetchall()
    return {row[0]: row[1] for row in rows}
