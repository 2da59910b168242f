"""Row Level Security: isolation holds even for a query with no tenant filter at all."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.support.ingest import batch, call_ingest, conversation, message


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


def test_the_functions_role_does_not_bypass_rls(database_url):
    with _app_connection() as conn:
        role = conn.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert role == ("threadline_app", False, False)


APP_ROLE = "threadline_app"

# Every table with a tenant_id column, in `schema`, and the tenants table itself (whose own id is its tenant): RLS
# enabled, exactly one permissive policy, and that policy is tenant_isolation comparing the tenant column with
# app_current_tenant() for every command and role (a second permissive policy would be OR-ed in and widen it).
# The owner check uses pg_has_role: owning a table, directly or through a role one inherits, exempts from RLS.
_TENANT_ISOLATION_GAPS = """
WITH tenant_tables AS (
    SELECT c.oid, c.relname, c.relrowsecurity, c.relowner,
           CASE WHEN c.relname = 'tenants' THEN 'id' ELSE 'tenant_id' END AS tenant_column
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s
      AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
          SELECT FROM pg_attribute a
          WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped))
)
SELECT t.relname, gap
FROM tenant_tables t
CROSS JOIN LATERAL (
    SELECT 'row level security is not enabled' AS gap WHERE NOT t.relrowsecurity
    UNION ALL
    SELECT 'has no tenant_isolation policy comparing ' || t.tenant_column || ' with app_current_tenant()'
    WHERE NOT EXISTS (
        SELECT FROM pg_policies p
        WHERE p.schemaname = %(schema)s AND p.tablename = t.relname AND p.policyname = 'tenant_isolation'
          AND p.permissive = 'PERMISSIVE' AND p.cmd = 'ALL' AND p.roles = '{public}'
          AND p.qual = '(' || t.tenant_column || ' = app_current_tenant())'
          AND p.with_check = '(' || t.tenant_column || ' = app_current_tenant())')
    UNION ALL
    SELECT 'has a permissive policy besides tenant_isolation: ' || p.policyname
    FROM pg_policies p
    WHERE p.schemaname = %(schema)s AND p.tablename = t.relname AND p.permissive = 'PERMISSIVE'
      AND p.policyname <> 'tenant_isolation'
    UNION ALL
    SELECT 'is owned by ' || pg_get_userbyid(t.relowner) || ', which ' || %(app_role)s || ' is or inherits'
    WHERE pg_has_role(%(app_role)s, t.relowner, 'USAGE')
) gaps
ORDER BY t.relname, gap
"""


def tenant_isolation_gaps(conn: psycopg.Connection, schema: str = "public") -> list[tuple[str, str]]:
    """(table, what is missing) for every tenant table of `schema` that RLS does not fully isolate."""
    return [tuple(row) for row in conn.execute(_TENANT_ISOLATION_GAPS, {"schema": schema, "app_role": APP_ROLE})]


def tenant_tables(conn: psycopg.Connection, schema: str = "public") -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
        (schema,),
    )
    return {row[0] for row in rows}


def test_every_tenant_table_is_isolated_by_rls_and_not_owned_by_the_functions_role(admin):
    # Given the migrated schema, every table that carries a tenant_id (found in the catalog, not listed by hand)
    found = tenant_tables(admin)
    assert {"contacts", "conversations", "messages", "websocket_subscriptions", "workspace_sessions"} <= found

    # Then none of them, nor tenants, lacks RLS or its policy, or is owned by the functions' role
    assert tenant_isolation_gaps(admin) == []


def test_the_catalog_check_names_every_kind_of_gap(admin):
    # Given, in a schema of its own that the transaction rolls back, one table per kind of gap and one made right
    schema = f"isolation_check_{uuid.uuid4().hex[:8]}"
    with admin.transaction(force_rollback=True):
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(f"SET LOCAL search_path = {schema}, public")
        for table in ("no_rls", "no_policy", "wrong_policy", "extra_policy", "app_owned", "isolated"):
            admin.execute(f"CREATE TABLE {table} (id bigint, tenant_id uuid NOT NULL)")
        admin.execute("CREATE TABLE no_tenant_column (id bigint)")
        admin.execute("ALTER TABLE no_policy ENABLE ROW LEVEL SECURITY")
        admin.execute("ALTER TABLE wrong_policy ENABLE ROW LEVEL SECURITY")
        admin.execute("CREATE POLICY tenant_isolation ON wrong_policy USING (tenant_id IS NOT NULL)")
        for table in ("extra_policy", "app_owned", "isolated"):
            admin.execute("SELECT threadline_enable_tenant_isolation(%s)", (f"{schema}.{table}",))
        admin.execute("CREATE POLICY support_sees_all ON extra_policy USING (true)")
        admin.execute(f"ALTER TABLE app_owned OWNER TO {APP_ROLE}")

        # When the check reads the catalog
        gaps = tenant_isolation_gaps(admin, schema)

    # Then each bad table is named with what it lacks, and the helper's table and the tenant-less one are not
    policy_gap = "has no tenant_isolation policy comparing tenant_id with app_current_tenant()"
    assert gaps == [
        ("app_owned", f"is owned by {APP_ROLE}, which {APP_ROLE} is or inherits"),
        ("extra_policy", "has a permissive policy besides tenant_isolation: support_sees_all"),
        ("no_policy", policy_gap),
        ("no_rls", policy_gap),
        ("no_rls", "row level security is not enabled"),
        ("wrong_policy", policy_gap),
    ]


def test_the_helper_policy_shows_each_tenant_only_its_own_rows(admin, make_connector):
    # Given a table isolated by the migrations' helper, holding one row for each of two tenants
    first, second = make_connector(), make_connector()
    schema = f"isolation_helper_{uuid.uuid4().hex[:8]}"
    with admin.transaction(force_rollback=True):
        admin.execute(f"CREATE SCHEMA {schema}")
        admin.execute(f"CREATE TABLE {schema}.notes (tenant_id uuid NOT NULL, body text)")
        admin.execute("SELECT threadline_enable_tenant_isolation(%s)", (f"{schema}.notes",))
        admin.execute(
            f"INSERT INTO {schema}.notes VALUES (%s, 'first'), (%s, 'second')", (first.tenant_id, second.tenant_id)
        )
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {APP_ROLE}")
        admin.execute(f"GRANT SELECT, INSERT ON {schema}.notes TO {APP_ROLE}")

        # When the functions' role reads it with the first tenant set, and then with none
        admin.execute(f"SET LOCAL ROLE {APP_ROLE}")
        admin.execute("SELECT set_config('app.tenant_id', %s, true)", (str(first.tenant_id),))
        seen = admin.execute(f"SELECT body FROM {schema}.notes").fetchall()
        with pytest.raises(psycopg.errors.InsufficientPrivilege), admin.transaction():
            admin.execute(f"INSERT INTO {schema}.notes VALUES (%s, 'intruder')", (second.tenant_id,))
        admin.execute("SELECT set_config('app.tenant_id', '', true)")
        seen_without_tenant = admin.execute(f"SELECT count(*) FROM {schema}.notes").fetchone()

    # Then it sees only the first tenant's row, may not write the second's, and sees nothing without a tenant
    assert seen == [("first",)]
    assert seen_without_tenant == (0,)


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
