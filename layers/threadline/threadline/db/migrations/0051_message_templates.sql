-- The account's templates (issue section 6). A WhatsApp connection records its WhatsApp Business Account (WABA):
-- templates belong to the WABA, not to one phone number, so two numbers of one account share them.
ALTER TABLE connections
    ADD COLUMN waba_id text CHECK (waba_id ~ '^[0-9]{1,64}$');
CREATE INDEX connections_waba_idx ON connections (waba_id) WHERE waba_id IS NOT NULL;

-- One row per template and language of a tenant's WABA, as Meta last described it: written by a sync (every page
-- of GET /{waba-id}/message_templates; templates Meta no longer lists are removed) and moved by the template
-- webhooks (status, quality, category). `components` is Meta's definition, kept whole: the list shows it, and a
-- template send is checked against it before Meta is called.
CREATE TABLE message_templates (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    waba_id           text NOT NULL CHECK (waba_id ~ '^[0-9]{1,64}$'),
    provider_id       text CHECK (length(provider_id) <= 64),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
    language          text NOT NULL CHECK (length(language) BETWEEN 1 AND 32),
    status            text NOT NULL CHECK (length(status) BETWEEN 1 AND 64),
    category          text CHECK (length(category) <= 64),
    quality           text CHECK (length(quality) <= 32),
    parameter_format  text CHECK (length(parameter_format) <= 32),
    components        jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(components) = 'array'),
    -- What the latest template webhook said happened (its `event`: FLAGGED, REINSTATED, ... is not always a status).
    last_event        text CHECK (length(last_event) <= 64),
    last_event_reason text CHECK (length(last_event_reason) <= 1024),
    synced_at         timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, waba_id, name, language)
);
CREATE INDEX message_templates_provider_idx ON message_templates (tenant_id, waba_id, provider_id);
SELECT threadline_enable_tenant_isolation('message_templates');
GRANT SELECT, INSERT, UPDATE, DELETE ON message_templates TO threadline_app;

-- Meta's template webhooks name the WABA (entry[].id), not a phone number or a tenant: the tenants with an active
-- connection recording that WABA, and nothing else, before any tenant is known.
CREATE FUNCTION find_template_account_tenants(p_waba_id text)
    RETURNS TABLE (tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT DISTINCT c.tenant_id FROM connections c WHERE c.waba_id = p_waba_id AND c.is_active
$$;
REVOKE ALL ON FUNCTION find_template_account_tenants(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_template_account_tenants(text) TO threadline_app;

-- The scheduled run syncs the accounts whose templates were synced longest ago (never first), across tenants: each
-- (tenant, WABA) with an active connection whose last sync is before p_synced_before, at most p_limit of them.
-- Between syncs the webhooks keep the templates current, so a run need not list every account every time.
CREATE FUNCTION template_sync_accounts(p_synced_before timestamptz, p_limit integer)
    RETURNS TABLE (tenant_id uuid, waba_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT a.tenant_id, a.waba_id
    FROM (SELECT DISTINCT c.tenant_id, c.waba_id FROM connections c WHERE c.waba_id IS NOT NULL AND c.is_active) a
    LEFT JOIN LATERAL (
        SELECT max(t.synced_at) AS synced_at
        FROM message_templates t WHERE t.tenant_id = a.tenant_id AND t.waba_id = a.waba_id
    ) last ON true
    WHERE last.synced_at IS NULL OR last.synced_at < p_synced_before
    ORDER BY last.synced_at NULLS FIRST, a.tenant_id, a.waba_id
    LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION template_sync_accounts(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION template_sync_accounts(timestamptz, integer) TO threadline_app;
