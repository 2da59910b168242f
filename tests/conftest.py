"""Shared fixtures: a real PostgreSQL (embedded by default, DATABASE_URL overrides) with a fresh database per
test session, migrated exactly as in AWS; tenants and connections made through the same code the CLI uses."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS = REPO_ROOT / "events"

# Keep every test away from real AWS: moto or nothing.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("THREADLINE_LOCAL_JWT_KEY", "test-only-signing-key-" + uuid.uuid4().hex)

# Before any test module imports a handler: Powertools reads its settings at import time.
from devtools.localenv import export_function_environment  # noqa: E402

export_function_environment()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    from devtools.postgres import create_database, drop_database, server_url

    server = server_url()
    name = f"threadline_test_{uuid.uuid4().hex[:10]}"
    url = create_database(server, name)
    from devtools.localenv import prepare_local_environment
    from devtools.postgres import LOCAL_APP_ROLE_PASSWORD
    from threadline.db.migrations import apply_migrations

    with psycopg.connect(url) as conn:
        apply_migrations(conn, app_role_password=LOCAL_APP_ROLE_PASSWORD)
    prepare_local_environment(url)
    yield url
    from threadline.db.connection import discard_app_connection

    discard_app_connection()
    drop_database(server, name)


@pytest.fixture
def admin(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The schema owner's connection (bypasses RLS): for arranging and inspecting, never for the code under test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@dataclass(frozen=True)
class Connector:
    tenant_id: uuid.UUID
    connection_id: str
    platform: str
    api_secret: str


@pytest.fixture
def make_connector(admin: psycopg.Connection[Any]) -> Callable[..., Connector]:
    from threadline.db.repositories.tenants import insert_tenant
    from threadline.domain.connections import create_connection

    def make(
        platform: str = "whatsapp", tenant_id: uuid.UUID | None = None, connection_id: str | None = None
    ) -> Connector:
        tenant = tenant_id or insert_tenant(admin, f"tenant-{uuid.uuid4().hex[:8]}").id
        created = create_connection(
            admin,
            tenant_id=tenant,
            platform=platform,
            connection_id=connection_id or f"{platform}_{uuid.uuid4().hex[:12]}",
        )
        return Connector(tenant, created.connection.connection_id, platform, created.api_secret)

    return make


@pytest.fixture
def connector(make_connector: Callable[..., Connector]) -> Connector:
    return make_connector()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def table_counts(admin: psycopg.Connection[Any]) -> dict[str, int]:
    return {
        table: admin.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        for table in ("tenants", "contacts", "connections", "conversations", "messages")
    }
