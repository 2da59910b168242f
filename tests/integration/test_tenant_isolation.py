"""Row Level Security: isolation holds even for a query with no tenant filter at all."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.ingest_helpers import batch, call_ingest, conversation, message


@pytest.fixture
def two_tenants_with_data(make_connector):
    first, second = make_connector(), make_connector()
    for connector, phone in ((first, "+15550001111"), (second, "+15550002222")):
        call_ingest(
            batch(connector, conversation("chat", phone, message("m1", "2026-02-01T10:00:00Z"))),
            api_key=connector.api_secret,
        )
    return first, second


def _app_connection():
    from threadline.config import get_settings
    from threadline.db.connection import app_connection_params

    return psycopg.connect(**app_connection_params(get_settings()))


def test_the_functions_role_neither_owns_the_tables_nor_bypasses_rls(database_url):
    with _app_connection() as conn:
        role = conn.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owners = {row[0] for row in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    assert role == ("threadline_app", False, False)
    assert "threadline_app" not in owners


@pytest.mark.parametrize("table", ["tenants", "contacts", "connections", "conversations", "messages"])
def test_an_unfiltered_select_sees_only_the_current_tenant(table, two_tenants_with_data):
    first, _second = two_tenants_with_data
    tenant_column = "id" if table == "tenants" else "tenant_id"
    with _app_connection() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(first.tenant_id),))
        seen = {row[0] for row in conn.execute(f"SELECT {tenant_column} FROM {table}")}
    assert seen == {first.tenant_id}


@pytest.mark.parametrize("table", ["contacts", "conversations", "messages", "connections", "tenants"])
def test_without_a_tenant_nothing_is_visible(table, two_tenants_with_data):
    with _app_connection() as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_writing_a_row_for_another_tenant_is_refused(two_tenants_with_data, admin):
    first, second = two_tenants_with_data
    with _app_connection() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(first.tenant_id),))
            conn.execute("INSERT INTO contacts (tenant_id, identifier) VALUES (%s, 'intruder')", (second.tenant_id,))
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(first.tenant_id),))
            updated = conn.execute(
                "UPDATE messages SET content = 'overwritten' WHERE tenant_id = %s", (second.tenant_id,)
            )
            assert updated.rowcount == 0
    assert admin.execute(
        "SELECT count(*) FROM messages WHERE tenant_id = %s AND content = 'overwritten'", (second.tenant_id,)
    ).fetchone() == (0,)


def test_the_tenant_does_not_outlive_its_transaction(two_tenants_with_data):
    first, _ = two_tenants_with_data
    with _app_connection() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(first.tenant_id),))
        assert conn.execute("SELECT count(*) FROM conversations").fetchone() == (0,)


def test_the_auth_lookup_exposes_one_named_connection_only(two_tenants_with_data):
    first, _second = two_tenants_with_data
    from threadline.db.repositories.connections import find_connection_for_auth

    with _app_connection() as conn:
        found = find_connection_for_auth(conn, first.connection_id)
        assert found is not None and found.tenant_id == first.tenant_id
        assert find_connection_for_auth(conn, "%") is None
        assert conn.execute("SELECT count(*) FROM connections").fetchone() == (0,)
