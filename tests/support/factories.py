"""The one tenant factory: every test that needs a tenant makes it here, through the same repository the CLI uses,
with a name that tells which test made it. Connections, sessions and WhatsApp numbers are built on top of it
(tests/conftest.py's make_connector, the other tests/support modules)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg


def new_tenant(admin: psycopg.Connection[Any], prefix: str = "tenant") -> uuid.UUID:
    from threadline.db.repositories.tenants import insert_tenant

    return insert_tenant(admin, f"{prefix}-{uuid.uuid4().hex[:8]}").id


@dataclass(frozen=True)
class Connector:
    tenant_id: uuid.UUID
    connection_id: str
    platform: str
    api_secret: str


@dataclass(frozen=True)
class Number:
    """A WhatsApp business number: its connection and tenant."""

    tenant_id: uuid.UUID
    connection_uuid: uuid.UUID
    connection_id: str
    phone_number_id: str
    api_secret: str
