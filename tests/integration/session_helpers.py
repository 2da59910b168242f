"""Arranging workspaces and sessions, and calling the real capture handler with API Gateway HTTP API v2.0 events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from devtools.lambda_runtime import LocalLambdaContext, load_handler
from devtools.template import load_template
from tests.conftest import load_event

EVENT_FILES = {
    "assistant": "session-message-assistant.json",
    "user": "session-message-user.json",
    "deprecated": "session-message-deprecated.json",
}
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


def make_tenant(admin: psycopg.Connection[Any]) -> uuid.UUID:
    from threadline.db.repositories.tenants import insert_tenant

    return insert_tenant(admin, f"tenant-{uuid.uuid4().hex[:8]}").id


def make_session(
    admin: psycopg.Connection[Any],
    tenant_id: uuid.UUID | None = None,
    *,
    workspace_id: uuid.UUID | None = None,
    config_id: str | None = None,
) -> Session:
    """A session (in a new workspace unless one is named), made the way the CLI makes them."""
    from threadline.domain.sessions import create_session, create_workspace

    tenant = tenant_id or make_tenant(admin)
    if workspace_id is None:
        workspace = create_workspace(admin, tenant_id=tenant, name="Workspace", config_id=config_id)
        workspace_id, config_id = workspace.id, workspace.config_id
    session = create_session(admin, tenant_id=tenant, workspace_ref=str(workspace_id), title="Chat")
    return Session(tenant, workspace_id, config_id, session.public_id, session.uuid, session.conversation_id)


def capture_handler() -> Any:
    return load_handler(load_template().functions["CaptureFunction"])


def _invoke(event: dict[str, Any], timeout_seconds: int) -> tuple[int, Any]:
    context = LocalLambdaContext(function_name="CaptureFunction", timeout_seconds=timeout_seconds)
    response = capture_handler()(event, context)
    return response["statusCode"], json.loads(response["body"])


def _authorise(
    event: dict[str, Any],
    tenant_id: uuid.UUID | str | None,
    user_id: uuid.UUID | str | None,
    claims_changed: dict[str, str | None] | None = None,
) -> None:
    """The claims API Gateway passes on; `claims_changed` sets more of them, or removes those it maps to None."""
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    if tenant_id is None:
        claims.pop("tenant_id")
    else:
        claims["tenant_id"] = str(tenant_id)
    claims["sub"] = str(user_id) if user_id is not None else f"service:{tenant_id}"
    for claim, value in (claims_changed or {}).items():
        if value is None:
            claims.pop(claim, None)
        else:
            claims[claim] = value


def _route_to(event: dict[str, Any], path: str, parameters: dict[str, str]) -> None:
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = parameters


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
    event = load_event(EVENT_FILES[route])
    _authorise(event, tenant_id, user_id, claims_changed)
    _route_to(
        event,
        f"/api/workspace/{workspace}/session/{session}{ROUTE_SUFFIX[route]}",
        {"workspaceId": workspace, "sessionId": session},
    )
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return _invoke(event, timeout_seconds)


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
    event = load_event("workspace-create.json")
    _authorise(event, tenant_id, None)
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return _invoke(event, 29)


def call_create_session(body: Any, *, tenant_id: uuid.UUID | str | None, workspace: str) -> tuple[int, Any]:
    event = load_event("workspace-session-create.json")
    _authorise(event, tenant_id, None)
    _route_to(event, f"/v1/workspaces/{workspace}/sessions", {"workspaceId": workspace})
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    return _invoke(event, 29)


def session_messages(admin: psycopg.Connection[Any], session: Session) -> list[dict[str, Any]]:
    with admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT * FROM messages WHERE conversation_id = %s ORDER BY sent_at, id", (session.conversation_id,)
        ).fetchall()


def message_count(admin: psycopg.Connection[Any]) -> int:
    return int(admin.execute("SELECT count(*) FROM messages").fetchone()[0])  # type: ignore[index]
