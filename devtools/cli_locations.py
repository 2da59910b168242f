"""`threadline location create`: a location for a tenant, optionally moving connections (and so their
conversations) into it. Registered by devtools.cli."""

from __future__ import annotations

import argparse
import json
from typing import Any

from devtools.cli_errors import uuid_argument


def add_location_commands(commands: Any) -> None:
    location = commands.add_parser("location", help="locations group connections").add_subparsers(
        dest="action", required=True
    )
    create = location.add_parser("create", help="create a location; --connection moves a connection into it")
    create.add_argument("--tenant", required=True, type=uuid_argument)
    create.add_argument("--name", required=True)
    create.add_argument("--connection", action="append", default=[], dest="connections", metavar="CONNECTION_ID")
    create.set_defaults(run=cmd_location_create)


def cmd_location_create(args: argparse.Namespace, database_url: str) -> None:
    from threadline.db.connection import admin_connection
    from threadline.domain.intake.locations import create_location

    with admin_connection(database_url) as conn:
        location = create_location(conn, tenant_id=args.tenant, name=args.name, connection_ids=args.connections)
    print(
        json.dumps(
            {
                "id": location.id,
                "tenant_id": location.tenant_id,
                "name": location.name,
                "connections": sorted(set(args.connections)),
            },
            indent=2,
            default=str,
        )
    )
