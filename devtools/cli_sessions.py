"""`threadline workspace create` and `threadline session create`: workspace chat sessions to capture messages into
(the same as POST /v1/workspaces and POST /v1/workspaces/{id}/sessions). Registered by devtools.cli."""

from __future__ import annotations

import argparse
import json
from typing import Any
from uuid import UUID

from devtools.cli_errors import uuid_argument


def add_session_commands(commands: Any) -> None:
    workspace = commands.add_parser("workspace", help="workspaces hold chat sessions").add_subparsers(
        dest="action", required=True
    )
    workspace_create = workspace.add_parser("create")
    workspace_create.add_argument("--tenant", required=True, type=uuid_argument)
    workspace_create.add_argument("--name", required=True)
    workspace_create.add_argument("--config-id", help="your own name for it, usable in URLs instead of its id")
    workspace_create.set_defaults(run=cmd_workspace_create)

    session = commands.add_parser("session", help="workspace chat sessions").add_subparsers(
        dest="action", required=True
    )
    session_create = session.add_parser("create")
    session_create.add_argument("--workspace", required=True, help="the workspace's id (or config id, with --tenant)")
    session_create.add_argument("--tenant", type=uuid_argument, help="needed only when --workspace is a config id")
    session_create.add_argument("--title")
    session_create.set_defaults(run=cmd_session_create)


def _print(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def cmd_workspace_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.domain.sessions.capture import create_workspace

    with admin_connection(database_url) as conn:
        workspace = create_workspace(conn, tenant_id=args.tenant, name=args.name, config_id=args.config_id)
    _print(
        {"id": workspace.id, "tenant_id": workspace.tenant_id, "config_id": workspace.config_id, "name": workspace.name}
    )


def cmd_session_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.db.repositories.sessions import find_workspace_tenant
    from threadline.domain.sessions.capture import create_session
    from threadline.errors import InvalidRequest, NotFound

    with admin_connection(database_url) as conn:
        if args.tenant:
            tenant_id = args.tenant
        else:
            workspace_id = _as_uuid(args.workspace)
            if workspace_id is None:
                raise InvalidRequest("--workspace is not a workspace id: pass --tenant to name it by config id")
            found = find_workspace_tenant(conn, workspace_id)
            if found is None:
                raise NotFound(f"No workspace {args.workspace}")
            tenant_id = found
        session = create_session(conn, tenant_id=tenant_id, workspace_ref=args.workspace, title=args.title)
    _print(
        {
            "id": session.public_id,
            "uuid": session.uuid,
            "tenant_id": session.tenant_id,
            "workspace_id": session.workspace_id,
            "conversation_id": session.conversation_id,
            "title": session.title,
        }
    )
