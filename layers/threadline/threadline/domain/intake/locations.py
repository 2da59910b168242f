"""Locations group a tenant's connections; a conversation belongs to the location of the connection that brought it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from threadline.db.errors import NameTaken
from threadline.db.repositories.locations import LocationRecord, insert_location, move_connections_to_location
from threadline.errors import Conflict, InvalidRequest, NotFound


def create_location(
    conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str, connection_ids: list[str] | None = None
) -> LocationRecord:
    """Create the location and move the named connections (with their conversations) into it, all or nothing."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidRequest("location name: 1-200 characters")
    with conn.transaction():
        try:
            with conn.transaction():
                location = insert_location(conn, tenant_id=tenant_id, name=name)
        except NameTaken:
            raise Conflict(f"Tenant {tenant_id} already has a location named {name!r}") from None
        wanted = sorted(set(connection_ids or []))
        moved = move_connections_to_location(conn, location=location, connection_ids=wanted)
        missing = sorted(set(wanted) - set(moved))
        if missing:
            raise NotFound(f"No connection {', '.join(missing)} in tenant {tenant_id}")
    return location
