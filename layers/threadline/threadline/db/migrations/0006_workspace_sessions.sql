-- Workspace chat sessions (docs/session-messages-api.md): workspaces, their sessions, and what
-- session messages need beyond a connector's message.
--
-- One model, different views: a session is backed by one conversation (platform 'workspace', no customer contact)
-- and its messages are ordinary rows of `messages` (user -> inbound, assistant -> outbound, source 'workspace_api').
-- The real-time feed, the counters and any retention policy therefore serve conversations and sessions alike.
-- Lists of customer conversations leave sessions out with `platform <> 'workspace'`.

CREATE TABLE workspaces (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The client's own name for a workspace (the seed's configId): URLs may name it instead of the uuid, so it
    -- is unique per tenant and cannot hold a '/'.
    config_id  text CHECK (config_id ~ '^[A-Za-z0-9_.:-]{1,200}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, config_id),
    -- Target of the sessions' composite key: a session can only sit in a workspace of its own tenant.
    UNIQUE (tenant_id, id)
);

CREATE TABLE workspace_sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The seed's session id (`wses_` + 32 hex digits); the uuid is the session's other public name.
    public_id       text NOT NULL UNIQUE
                    DEFAULT 'wses_' || replace(gen_random_uuid()::text, '-', '')
                    CHECK (public_id ~ '^wses_[0-9a-f]{32}$'),
    uuid            uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL,
    -- The conversation holding the session's messages (one each way).
    conversation_id bigint NOT NULL UNIQUE,
    title           text CHECK (length(title) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workspace_sessions_workspace_idx ON workspace_sessions (tenant_id, workspace_id, created_at DESC);

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['workspaces', 'workspace_sessions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_current_tenant()) '
            'WITH CHECK (tenant_id = app_current_tenant())', tenant_table);
    END LOOP;
END
$$;
GRANT SELECT, INSERT ON workspaces, workspace_sessions TO threadline_app;

-- A session's conversation has no customer on the other side, hence no contact. Every other platform still needs
-- one. The constraints are added NOT VALID: every existing row already satisfies them (contact_id was NOT NULL and
-- the platform list only grows), so a full scan of a large table under an exclusive lock would prove nothing;
-- new and updated rows are checked all the same.
ALTER TABLE conversations DROP CONSTRAINT conversations_platform_check;
ALTER TABLE conversations
    ADD CONSTRAINT conversations_platform_check
        CHECK (platform IN ('whatsapp', 'signal', 'telegram', 'wechat', 'workspace')) NOT VALID,
    ADD CONSTRAINT conversations_contact_required
        CHECK (platform = 'workspace' OR contact_id IS NOT NULL) NOT VALID,
    ALTER COLUMN contact_id DROP NOT NULL;

-- What a session message carries beyond a connector's message. All nullable without defaults: a connector's row
-- stores nothing more (a NULL costs one bit), so ingest and send are untouched. NOT VALID for the same reason as
-- above: the columns are new, every existing value is NULL.
ALTER TABLE messages
    -- How to read `content`: 'json' when it is a JSON object or array (e.g. an assistant's event list), else 'text'.
    ADD COLUMN content_type text,
    -- Where the message came from (the seed's channel: api, mobile, email, automation, ...).
    ADD COLUMN channel      text,
    ADD COLUMN metadata     jsonb,
    -- The seed's contextType (workspace, space, ...).
    ADD COLUMN context_type text,
    -- A thread within the conversation: a session message's claudeSessionId. Replies are generated from the
    -- history of their thread only.
    ADD COLUMN thread_id    text,
    ADD COLUMN updated_at   timestamptz,
    ADD CONSTRAINT messages_content_type_check CHECK (content_type IN ('text', 'json')) NOT VALID,
    ADD CONSTRAINT messages_channel_check CHECK (length(channel) BETWEEN 1 AND 100) NOT VALID,
    ADD CONSTRAINT messages_metadata_check CHECK (jsonb_typeof(metadata) = 'object') NOT VALID,
    ADD CONSTRAINT messages_context_type_check CHECK (length(context_type) BETWEEN 1 AND 100) NOT VALID,
    ADD CONSTRAINT messages_thread_id_check CHECK (length(thread_id) BETWEEN 1 AND 256) NOT VALID;

-- A thread's history, newest first, read before every generated reply. Partial: only session messages with a
-- thread are in it, so connector writes never maintain it.
CREATE INDEX messages_thread_timeline_idx ON messages (tenant_id, conversation_id, thread_id, sent_at DESC, id DESC)
    WHERE thread_id IS NOT NULL;
