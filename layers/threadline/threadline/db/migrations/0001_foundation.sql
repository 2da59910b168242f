-- Foundation schema: tenants, agents, contacts, connections, conversations and one row per message.
--
-- Tenant isolation is enforced by Row Level Security. The Lambda functions connect as `threadline_app`,
-- which neither owns these tables nor bypasses RLS, so a query that forgets its tenant filter still sees
-- only the rows of the tenant set for the transaction (`app.tenant_id`, see threadline.db.tenancy).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'threadline_app') THEN
        CREATE ROLE threadline_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- The tenant of the current transaction; NULL (so every policy denies) when none was set.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Agents: the people who answer conversations in the dashboard.
CREATE TABLE users (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL,
    email      text,
    avatar_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_tenant_idx ON users (tenant_id);

-- Contacts: the customers on the other side of a conversation. `identifier` is the normalised phone number
-- (+digits or digits) or the lower-cased username; phone matching falls back to the last ten digits so that
-- "+44 7700 900123" and "07700900123" meet.
CREATE TABLE contacts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    identifier          text NOT NULL CHECK (length(identifier) > 0),
    phone_digits        text CHECK (phone_digits ~ '^[0-9]+$'),
    phone_last10        text GENERATED ALWAYS AS (right(phone_digits, 10)) STORED,
    name                text,
    avatar_url          text,
    -- The last inbound message: the WhatsApp 24-hour customer-service window is computed from it.
    last_interaction_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, identifier)
);
CREATE INDEX contacts_phone_digits_idx ON contacts (tenant_id, phone_digits) WHERE phone_digits IS NOT NULL;
CREATE INDEX contacts_phone_last10_idx ON contacts (tenant_id, phone_last10) WHERE phone_last10 IS NOT NULL;

-- Connections: one per connector (a WhatsApp number, a Telegram bot, ...). The API secret is stored only as
-- its SHA-256 digest: secrets are 256-bit random tokens, so a fast digest is safe and keeps auth cheap.
CREATE TABLE connections (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id       text NOT NULL UNIQUE CHECK (length(connection_id) BETWEEN 1 AND 200),
    platform            text NOT NULL CHECK (platform IN ('whatsapp', 'signal', 'telegram', 'wechat')),
    api_secret_sha256   text NOT NULL CHECK (api_secret_sha256 ~ '^[0-9a-f]{64}$'),
    phone_number_id     text,
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_tenant_idx ON connections (tenant_id);

CREATE TABLE conversations (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id            uuid REFERENCES connections (id) ON DELETE SET NULL,
    platform                 text NOT NULL CHECK (platform IN ('whatsapp', 'signal', 'telegram', 'wechat')),
    external_conversation_id text NOT NULL,
    contact_id               uuid NOT NULL REFERENCES contacts (id),
    status                   text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
    last_message_at          timestamptz,
    last_message_preview     text CHECK (length(last_message_preview) <= 100),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, platform, external_conversation_id),
    -- Target of messages' composite key: a message can only belong to a conversation of its own tenant.
    UNIQUE (tenant_id, id)
);
CREATE INDEX conversations_contact_idx ON conversations (contact_id);
CREATE INDEX conversations_activity_idx ON conversations (tenant_id, last_message_at DESC NULLS LAST, id DESC);

-- One row per message. (conversation_id, external_id) is the dedupe key: a retried or overlapping batch can
-- never store a message twice, whatever the connectors do.
CREATE TABLE messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        uuid NOT NULL,
    conversation_id  bigint NOT NULL,
    external_id      text NOT NULL CHECK (length(external_id) > 0),
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    type             text NOT NULL CHECK (type IN ('text', 'image', 'audio', 'video', 'file', 'location')),
    content          text NOT NULL,
    media_url        text,
    sent_at          timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'received',
    source           text NOT NULL DEFAULT 'ingest',
    author_user_id   uuid REFERENCES users (id),
    is_system        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, external_id),
    -- One composite key instead of two: half the per-row foreign-key checks on the ingest hot path.
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_timeline_idx ON messages (conversation_id, sent_at DESC, id DESC);

-- Row Level Security on every tenant-owned table.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['users', 'contacts', 'connections', 'conversations', 'messages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
            'WITH CHECK (tenant_id = app_current_tenant())', tenant_table);
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO threadline_app;
GRANT SELECT ON tenants TO threadline_app;
GRANT SELECT, INSERT, UPDATE ON users, contacts, conversations, messages TO threadline_app;
GRANT SELECT ON connections TO threadline_app;

-- Connectors authenticate before any tenant is known. This function, owned by the schema owner, is the one
-- narrow door through RLS: it returns the single connection a connector names, with its secret's digest.
CREATE FUNCTION find_connection_for_auth(p_connection_id text)
    RETURNS TABLE (id uuid, tenant_id uuid, platform text, api_secret_sha256 text, is_active boolean,
                   phone_number_id text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT c.id, c.tenant_id, c.platform, c.api_secret_sha256, c.is_active, c.phone_number_id
    FROM connections c
    WHERE c.connection_id = p_connection_id
$$;
REVOKE ALL ON FUNCTION find_connection_for_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_connection_for_auth(text) TO threadline_app;
