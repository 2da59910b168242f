-- Tenant isolation written once. A new tenant-owned table gets its Row Level Security from this helper,
-- `SELECT threadline_enable_tenant_isolation('new_table');`, instead of a copy of the ALTER/CREATE POLICY pair.
-- The policy is the one every tenant table already has (0001, 0002, 0005, 0006, 0007): rows are visible and
-- writable only when their tenant_id is the transaction's `app.tenant_id` (app_current_tenant(), NULL when unset,
-- so nothing matches). Those tables keep the policies their migrations gave them; this adds no new semantics.
--
-- RLS is enabled, not forced: the schema owner stays outside it on purpose. The SECURITY DEFINER doors
-- (find_connection_for_auth, find_whatsapp_connection_by_number, conversation_exists, find_websocket_connection,
-- expire_closed_windows) run as the owner before any tenant is known; under FORCE they would see no rows. In RDS
-- the owner is the master user, neither superuser nor BYPASSRLS, so forcing would close those doors there, while
-- locally (a superuser owner) nothing would show it. What FORCE guards against, the application role owning a
-- table, is checked instead: tests/integration/test_tenant_isolation.py asks the catalog that threadline_app owns
-- no tenant table and holds no membership in a role that does.
CREATE FUNCTION threadline_enable_tenant_isolation(p_table regclass) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    -- regclass prints as a quoted, schema-qualified-when-needed name: safe to splice with %s.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = app_current_tenant()) '
        'WITH CHECK (tenant_id = app_current_tenant())', p_table);
END
$$;
-- Only migrations (the schema owner) put policies on tables; the application role has no use for it.
REVOKE ALL ON FUNCTION threadline_enable_tenant_isolation(regclass) FROM PUBLIC;
