"""Locations (administration: run by the schema owner through the CLI, like tenants and connections)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from threadline.db.errors import NameTaken, translated_errors


@dataclass(frozen=True)
class LocationRecord:
    id: UUID
    tenant_id: UUID
    name: str


def insert_location(conn: psycopg.Connection[Any], *, tenant_id: UUID, name: str) -> LocationRecord:
    """Raises NameTaken when the tenant has a location of that name."""
    with translated_errors(unique_violation=NameTaken), conn.cursor(row_factory=class_row(LocationRecord)) as cursor:
        row = cursor.execute(
            "INSERT INTO locations (tenant_id, name) VALUES (%s, %s) RETURNING id, tenant_id, name", (tenant_id, name)
        ).fetchone()
    assert row is not None
    return row


def move_connections_to_location(
    conn: psycopg.Connection[Any], *, location: LocationRecord, connection_ids: list[str]
) -> list[str]:
    """The connections (of the location's tenant) now in `location`; their conversations follow (a trigger)."""
    rows = conn.execute(
        "UPDATE connections SET location_id = %s WHERE tenant_id = %s AND connection_id = ANY(%s)"
        " RETURNING connection_id",
        (location.id, location.tenant_id, connection_ids),
    ).fetchall()
    return sorted(row[0] for row in rows)
