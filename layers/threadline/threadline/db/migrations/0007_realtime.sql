-- Real-time fan-out: the WebSocket connections API Gateway holds open for agents' browsers, and what each of them
-- subscribed to. Writers (ingest, send, webhooks, capture, window expiry) look up a topic's subscribers here after
-- their write commits and push frames through API Gateway's management API.

-- One row per open WebSocket connection, written by $connect with the tenant and user its bearer token proved.
-- API Gateway closes a connection after two hours at most; `expires_at` lets a lost $disconnect (rare, but
-- API Gateway only promises best effort) stop costing posts before the 410 that would otherwise remove it.
CREATE TABLE websocket_connections (
    connection_id text PRIMARY KEY CHECK (length(connection_id) BETWEEN 1 AND 128),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The token's subject: an agent's id, or another principal's (e.g. "service:..."), hence text.
    user_id       text NOT NULL,
    connected_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '2 hours',
    -- Target of the subscriptions' composite key.
    UNIQUE (tenant_id, connection_id)
);
CREATE INDEX websocket_connections_expiry_idx ON websocket_connections (tenant_id, expires_at);

-- A connection's subscriptions. The tenant is the connection's (the composite key below makes any other tenant
-- impossible), and publishers only ever read their own tenant's rows: a client naming another tenant's session or
-- conversation id can never receive that tenant's events.
CREATE TABLE websocket_subscriptions (
    tenant_id     uuid NOT NULL,
    connection_id text NOT NULL,
    topic         text NOT NULL CHECK (topic IN ('session', 'conversation')),
    -- A conversation's id (as text) or a chat session's uuid.
    topic_id      text NOT NULL CHECK (length(topic_id) BETWEEN 1 AND 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, topic, topic_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES websocket_connections (tenant_id, connection_id)
        ON DELETE CASCADE
);
-- The publishers' one query: a topic's subscribers within a tenant. Leading with the tenant makes RLS's
-- tenant_id condition part of the index range.
CREATE INDEX websocket_subscriptions_topic_idx ON websocket_subscriptions (tenant_id, topic, topic_id);

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['websocket_connections', 'websocket_subscriptions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
            'WITH CHECK (tenant_id = app_current_tenant())', tenant_table);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, DELETE ON websocket_connections, websocket_subscriptions TO threadline_app;

-- Messages after $connect carry only their connection id. This is their narrow door through RLS: the tenant and
-- user of the one connection named (ids are issued by API Gateway and known only to that client and to us).
CREATE FUNCTION find_websocket_connection(p_connection_id text)
    RETURNS TABLE (connection_id text, tenant_id uuid, user_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT c.connection_id, c.tenant_id, c.user_id
    FROM websocket_connections c
    WHERE c.connection_id = p_connection_id
$$;
REVOKE ALL ON FUNCTION find_websocket_connection(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_websocket_connection(text) TO threadline_app;
