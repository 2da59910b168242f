"""Shared fixtures (fixtures only: what tests share besides fixtures is in tests/support/): a real PostgreSQL (embedded by default, DATABASE_URL overrides) with a fresh database per
test session, migrated exactly as in AWS; tenants and connections made through the same code the CLI uses."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.support.factories import Connector, Number, new_tenant
from tests.support.fakes import (
    BEDROCK_ENVIRONMENT,
    FAKE_BEDROCK_MODEL_ID,
    FAKE_META_ACCESS_TOKEN,
    FAKE_META_API_VERSION,
    FAKE_META_PHONE_NUMBER_ID,
    META_ENVIRONMENT,
    environment,
)

# Keep every test away from real AWS: moto or nothing.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("THREADLINE_LOCAL_JWT_KEY", "test-only-signing-key-" + uuid.uuid4().hex)

# Before any test module imports a handler: Powertools reads its settings at import time.
from devtools.localenv import export_function_environment

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
def empty_database() -> Iterator[str]:
    """The URL of a database of its own, created empty for one test and dropped after it: for tests that migrate
    (or break) a database themselves."""
    from devtools.postgres import create_database, drop_database, server_url

    server = server_url()
    name = f"threadline_test_{uuid.uuid4().hex[:10]}"
    yield create_database(server, name)
    drop_database(server, name)


@pytest.fixture
def admin(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The schema owner's connection (bypasses RLS): for arranging and inspecting, never for the code under test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_connector(admin: psycopg.Connection[Any]) -> Callable[..., Connector]:
    from threadline.domain.intake.connections import create_connection

    def make(
        platform: str = "whatsapp", tenant_id: uuid.UUID | None = None, connection_id: str | None = None
    ) -> Connector:
        tenant = tenant_id or new_tenant(admin)
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


@pytest.fixture
def fake_graph() -> Iterator[Any]:
    """A fake Meta Graph API on a real local port, with the Meta client pointed at it (a test token, a default
    phone number id, no Secrets Manager). Script answers with `fake_graph.script(...)`; read `fake_graph.requests`."""
    from devtools.fake_graph import FakeGraphApi
    from threadline.meta.client import reset_meta_client

    with FakeGraphApi() as server:
        values = {
            "META_GRAPH_URL": server.base_url,
            "META_API_VERSION": FAKE_META_API_VERSION,
            "META_ACCESS_TOKEN": FAKE_META_ACCESS_TOKEN,
            "META_PHONE_NUMBER_ID": FAKE_META_PHONE_NUMBER_ID,
        }
        with environment(values, remove=META_ENVIRONMENT, reset=reset_meta_client):
            yield server


@pytest.fixture
def fake_bedrock() -> Iterator[Any]:
    """A fake Bedrock Converse endpoint on a real local port, with the language model client pointed at it (a
    test model id). Script answers with `fake_bedrock.script(...)`; read `fake_bedrock.requests`. Tests may set
    other BEDROCK_* variables (then call reset_llm_client()); all of them are restored afterwards."""
    from devtools.fake_bedrock import FakeBedrock
    from threadline.bedrock.client import reset_llm_client

    with FakeBedrock() as server:
        values = {
            "BEDROCK_MODEL_ID": FAKE_BEDROCK_MODEL_ID,
            "BEDROCK_REGION": "us-east-1",
            "BEDROCK_ENDPOINT_URL": server.base_url,
        }
        with environment(values, remove=BEDROCK_ENVIRONMENT, reset=reset_llm_client):
            yield server


@pytest.fixture
def meta_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Meta's app secret and verify token as the tests' WhatsApp notifications are signed (tests.support.meta_payloads)."""
    from tests.support.meta_payloads import APP_SECRET, VERIFY_TOKEN
    from threadline.meta.config import get_meta_settings

    monkeypatch.setenv("META_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("META_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.delenv("META_SECRET_ARN", raising=False)
    get_meta_settings.cache_clear()
    yield
    get_meta_settings.cache_clear()


@pytest.fixture
def make_number(admin: psycopg.Connection[Any]) -> Callable[..., Number]:
    from threadline.domain.intake.connections import create_connection

    def make(tenant_id: uuid.UUID | None = None, phone_number_id: str | None = None) -> Number:
        tenant = tenant_id or new_tenant(admin)
        created = create_connection(
            admin,
            tenant_id=tenant,
            platform="whatsapp",
            phone_number_id=phone_number_id or str(uuid.uuid4().int)[:15],
        )
        record = created.connection
        assert record.phone_number_id is not None
        return Number(tenant, record.id, record.connection_id, record.phone_number_id, created.api_secret)

    return make


@pytest.fixture
def number(make_number: Callable[..., Number]) -> Number:
    return make_number()
