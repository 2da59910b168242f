"""Arranging workspaces and sessions, and calling the capture and session routes through the template's routing
(tests/support/routes.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.support.factories import new_tenant
from tests.support.routes import call_route, service_claims

ROUTE_SUFFIX = {"assistant": "/message/assistant", "user": "/message/user", "deprecated": "/message"}
WMSG = r"^wmsg_[0-9a-f]{32}$"
WSES = r"^wses_[0-9a-f]{32}$"
JS_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


@dataclass(frozen=True)
class Session:
    tenant_id: uuid.UUID
    workspace_id: uuid.UUID
    config_id: str | None
    public_id: str
    uuid: uuid.UUID
    conversation_id: int


def make_session(
    admin: psycopg.Connection[Any],
    tenant_id: uuid.UUID | None = None,
    *,
    workspace_id: uuid.UUID | None = None,
    config_id: str | None = None,
) -> Session:
    """A session (in a new workspace unless one is named), made the way the CLI makes them."""
    from threadline.domain.sessions.capture import create_session, create_workspace

    tenant = tenant_id or new_tenant(admin)
    if workspace_id is None:
        workspace = create_workspace(admin, tenant_id=tenant, name="Workspace", config_id=config_id)
        workspace_id, config_id = workspace.id, workspace.config_id
    session = create_session(admin, tenant_id=tenant, workspace_ref=str(workspace_id), title="Chat")
    return Session(tenant, workspace_id, config_id, session.public_id, session.uuid, session.conversation_id)


def call_capture(
    route: str,
    body: Any,
    *,
    tenant_id: uuid.UUID | str | None,
    workspace: str,
    session: str,
    user_id: uuid.UUID | str | None = None,
    claims_changed: dict[str, str | None] | None = None,
    timeout_seconds: int = 29,
) -> tuple[int, Any]:
    """POST to .../message/assistant, .../message/user or the deprecated .../message (`route`)."""
    return call_route(
        "POST",
        f"/api/workspace/{workspace}/session/{session}{ROUTE_SUFFIX[route]}",
        body=body,
        claims=_with_changes(service_claims(tenant_id, user_id), claims_changed),
        timeout_seconds=timeout_seconds,
    )


def _with_changes(claims: dict[str, str], changed: dict[str, str | None] | None) -> dict[str, str]:
    """The claims with `changed` set, or removed where it maps them to None."""
    for claim, value in (changed or {}).items():
        if value is None:
            claims.pop(claim, None)
        else:
            claims[claim] = value
    return claims


def capture(route: str, session: Session, body: Any, **kwargs: Any) -> tuple[int, Any]:
    return call_capture(
        route,
        body,
        tenant_id=session.tenant_id,
        workspace=str(session.workspace_id),
        session=session.public_id,
        **kwargs,
    )


def call_create_workspace(body: Any, *, tenant_id: uuid.UUID | str | None) -> tuple[int, Any]:
    return call_route("POST", "/v1/workspaces", body=body, claims=service_claims(tenant_id))


def call_create_session(body: Any, *, tenant_id: uuid.UUID | str | None, workspace: str) -> tuple[int, Any]:
    return call_route("POST", f"/v1/workspaces/{workspace}/sessions", body=body, claims=service_claims(tenant_id))


def session_messages(admin: psycopg.Connection[Any], session: Session) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM messages WHERE conversation_id = %s ORDER BY sent_at, id", (session.conversation_id,)
        ).fetchall()


def message_count(admin: psycopg.Connection[Any]) -> int:
    return int(admin.execute("SELECT count(*) FROM messages").fetchone()[0])  # type: ignore[index]
