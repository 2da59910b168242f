"""Calling the read API's real handlers as API Gateway would (claims from a verified token), and arranging
conversations through the real ingest handler plus the owner connection for what ingest cannot write (agents'
replies, system messages, media details)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from devtools.auth import issue_token, verify_bearer
from tests.support.factories import Connector
from tests.support.ingest import batch, call_ingest, conversation
from tests.support.paths import load_event
from tests.support.routes import call_route, path_segment

# Each route: (function, sample event whose routeKey it answers).
ROUTES = {
    "list_conversations": ("ListConversationsFunction", "list-conversations-seed-path.json"),
    "list_conversations_v1": ("ListConversationsFunction", "list-conversations-v1.json"),
    "get_conversation": ("ListConversationsFunction", "get-conversation-seed-path.json"),
    "get_conversation_v1": ("ListConversationsFunction", "get-conversation-v1.json"),
    "list_messages": ("ListMessagesFunction", "list-messages-seed-path.json"),
    "list_messages_v1": ("ListMessagesFunction", "list-messages-v1.json"),
    "agent_messages": ("ListMessagesFunction", "agent-conversation-messages.json"),
}


def claims_for(tenant_id: uuid.UUID | str, user_id: uuid.UUID | None = None) -> dict[str, str]:
    """Exactly what the JWT authorizer passes on for a token of this tenant."""
    return verify_bearer(f"Bearer {issue_token(tenant_id=str(tenant_id), user_id=str(user_id) if user_id else None)}")


def call(
    route: str,
    *,
    claims: dict[str, str] | None,
    path_id: int | str | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """`route` (a name above) through the template's routing; claims None reaches the handler with no authorizer
    context, to test its own refusal."""
    sample = load_event(ROUTES[route][1])
    method, path = sample["routeKey"].split(" ", 1)
    path = sample["rawPath"] if path_id is None else re.sub(r"{[^}]+}", path_segment(path_id), path)
    return call_route(method, path, claims=claims, query=query, without_authorizer=claims is None)


@dataclass(frozen=True)
class Tenant:
    connector: Connector
    claims: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.connector.tenant_id


def make_tenant(make_connector: Any) -> Tenant:
    connector = make_connector("whatsapp")
    return Tenant(connector, claims_for(connector.tenant_id))


def ingest(tenant: Tenant, *conversations: dict[str, Any], connector: Connector | None = None) -> list[int]:
    """Conversation ids, in the order given."""
    connector = connector or tenant.connector
    status, body = call_ingest(batch(connector, *conversations), api_key=connector.api_secret)
    assert status == 200, body
    return [result["conversation_id"] for result in body["results"]]


def chat(external_id: str, phone: str, *messages: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return conversation(external_id, phone, *messages, name=name)


def add_agent(admin: psycopg.Connection[Any], tenant: Tenant, name: str, avatar_url: str | None = None) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO users (tenant_id, name, email, avatar_url) VALUES (%s, %s, %s, %s) RETURNING id",
        (tenant.id, name, f"{uuid.uuid4().hex[:8]}@agents.test", avatar_url),
    ).fetchone()
    assert row is not None
    return row[0]


def add_message(
    admin: psycopg.Connection[Any],
    tenant: Tenant,
    conversation_id: int,
    sent_at: str,
    *,
    direction: str = "outbound",
    content: str = "a reply",
    author_user_id: uuid.UUID | None = None,
    is_system: bool = False,
    **columns: Any,
) -> int:
    """A message written the way the send path or a system process writes it (not through ingest)."""
    names = ["tenant_id", "conversation_id", "external_id", "direction", "type", "content", "sent_at", "status"]
    values: list[Any] = [
        tenant.id,
        conversation_id,
        f"x_{uuid.uuid4().hex[:12]}",
        direction,
        columns.pop("type", "text"),
        content,
        sent_at,
        columns.pop("status", "sent" if direction == "outbound" else "received"),
    ]
    names += ["author_user_id", "is_system", *columns]
    values += [author_user_id, is_system, *columns.values()]
    row = admin.execute(
        f"INSERT INTO messages ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
        values,
    ).fetchone()
    assert row is not None
    return row[0]
