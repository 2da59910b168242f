"""The one tenant factory: every test that needs a tenant makes it here, through the same repository the CLI uses,
with a name that tells which test made it. Connections, sessions and WhatsApp numbers are built on top of it
(tests/conftest.py's make_connector, tests/integration/*_helpers.py)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg


def new_tenant(admin: psycopg.Connection[Any], prefix: str = "tenant") -> uuid.UUID:
    from threadline.db.repositories.tenants import insert_tenant

    return insert_tenant(admin, f"{prefix}-{uuid.uuid4().hex[:8]}").id
