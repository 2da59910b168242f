-- WhatsApp send path: the 24-hour customer-service window, the outbound message lifecycle, idempotent sends,
-- and the lookups Meta's webhooks need before a tenant is known.

-- The window belongs to the contact (the customer), not to a conversation: every conversation with the contact
-- shows the same window. `window_expires_at` is the last inbound message + 24 hours, unless Meta told us the
-- window is closed sooner (error 131047). The window is open exactly while window_expires_at > now(): every
-- reader computes that, so no stored status can disagree with the clock.
ALTER TABLE contacts
    -- Meta's business-scoped user id: users who adopted a WhatsApp username may arrive without a phone number.
    ADD COLUMN whatsapp_user_id  text CHECK (length(whatsapp_user_id) > 0),
    ADD COLUMN window_expires_at timestamptz;

CREATE UNIQUE INDEX contacts_whatsapp_user_idx ON contacts (tenant_id, whatsapp_user_id)
    WHERE whatsapp_user_id IS NOT NULL;

UPDATE contacts
SET window_expires_at = last_interaction_at + interval '24 hours'
WHERE last_interaction_at IS NOT NULL;

-- A newer inbound message (from any writer: ingest, webhook) re-opens the window. One trigger keeps every
-- writer consistent; it only acts when last_interaction_at moves forward.
CREATE FUNCTION contacts_open_window() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.last_interaction_at IS NOT NULL
       AND (TG_OP = 'INSERT' OR OLD.last_interaction_at IS NULL OR NEW.last_interaction_at > OLD.last_interaction_at)
    THEN
        NEW.window_expires_at := NEW.last_interaction_at + interval '24 hours';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER contacts_open_window
    BEFORE INSERT OR UPDATE OF last_interaction_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_open_window();

-- Messages: the outbound lifecycle (pending -> sent -> delivered -> read, or failed), Meta's ids and errors.
ALTER TABLE messages DROP CONSTRAINT messages_type_check;
ALTER TABLE messages
    ADD CONSTRAINT messages_type_check
        CHECK (type IN ('text', 'image', 'audio', 'video', 'file', 'location', 'template')),
    ADD CONSTRAINT messages_status_check
        CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read', 'failed')),
    -- The WhatsApp message id (wamid) Meta gave an outbound message, or the id of an inbound one.
    ADD COLUMN meta_id              text,
    ADD COLUMN status_updated_at    timestamptz,
    ADD COLUMN error_code           integer,
    ADD COLUMN error_title          text,
    ADD COLUMN error_details        text,
    -- The message this one replies to (Meta's context.message_id).
    ADD COLUMN reply_to_external_id text,
    ADD COLUMN media_mime_type      text,
    ADD COLUMN media_filename       text,
    ADD COLUMN media_size_bytes     bigint CHECK (media_size_bytes >= 0),
    -- What was sent beyond the text: a template's name, language and components, a media caption.
    ADD COLUMN payload              jsonb;

CREATE UNIQUE INDEX messages_meta_id_idx ON messages (tenant_id, meta_id) WHERE meta_id IS NOT NULL;

-- Message statuses only move forward: a late `delivered` never overwrites `read`.
CREATE FUNCTION message_status_rank(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE status
        WHEN 'pending' THEN 0 WHEN 'received' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
        WHEN 'read' THEN 3 WHEN 'failed' THEN 4 END
$$;

-- Idempotent sends: the first request with a key records its outcome here; a retry with the same key gets
-- that outcome back instead of a second message to Meta.
CREATE TABLE idempotency_keys (
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key     text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of the route and body: reusing a key for a different request is refused, not replayed.
    request_fingerprint text NOT NULL,
    message_id          bigint,
    response_status     integer,
    response_body       jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    PRIMARY KEY (tenant_id, idempotency_key)
);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO threadline_app;

-- One WhatsApp number belongs to one connection: Meta's webhooks name the number, and that finds the tenant.
CREATE UNIQUE INDEX connections_whatsapp_number_idx ON connections (phone_number_id)
    WHERE platform = 'whatsapp' AND phone_number_id IS NOT NULL;

-- Meta's webhooks arrive before any tenant is known: this is their narrow door through RLS.
CREATE FUNCTION find_whatsapp_connection_by_number(p_phone_number_id text)
    RETURNS TABLE (id uuid, tenant_id uuid, connection_id text, phone_number_id text, is_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT c.id, c.tenant_id, c.connection_id, c.phone_number_id, c.is_active
    FROM connections c
    WHERE c.platform = 'whatsapp' AND c.phone_number_id = p_phone_number_id
$$;
REVOKE ALL ON FUNCTION find_whatsapp_connection_by_number(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_whatsapp_connection_by_number(text) TO threadline_app;

-- The conversations contract answers 403 (not 404) when a conversation exists in another tenant. RLS hides
-- that row, so this function says only whether the id exists at all, never whose it is.
CREATE FUNCTION conversation_exists(p_conversation_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM conversations WHERE id = p_conversation_id) $$;
REVOKE ALL ON FUNCTION conversation_exists(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION conversation_exists(bigint) TO threadline_app;
