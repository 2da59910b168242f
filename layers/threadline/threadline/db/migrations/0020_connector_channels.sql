-- Connector channels become two-way (issue 11 §3). An agent's reply into a Signal, Telegram or WeChat conversation is
-- stored `pending` and delivered to the connection's `outbound_url` as a signed `message.outbound` delivery, on the
-- delivery machinery webhooks use (0016: target_kind 'connection'); the delivery row is written in the transaction
-- that stores the reply, so neither commits without the other. The connector's 2xx answer may name the platform's
-- message id, which becomes the message's external id (the ingest dedupe key, so the connector's next sync of that
-- message adds nothing); connectors report later statuses through POST /v1/ingest/statuses.

-- ---------------------------------------------------------------------------------------------------------------
-- Where a connection's replies go, and the secret that signs them (sealed as webhook secrets are: AES-GCM, bound to
-- the connection's id, threadline.delivery.secret_box). During a rotation the previous secret signs too, until it
-- expires (24 hours).
-- ---------------------------------------------------------------------------------------------------------------
ALTER TABLE connections
    ADD COLUMN outbound_url                        text CHECK (length(outbound_url) BETWEEN 1 AND 2048),
    ADD COLUMN outbound_secret_ciphertext          bytea,
    ADD COLUMN previous_outbound_secret_ciphertext bytea,
    ADD COLUMN previous_outbound_secret_expires_at timestamptz,
    ADD CONSTRAINT connections_outbound_url_has_secret
        CHECK (outbound_url IS NULL OR outbound_secret_ciphertext IS NOT NULL);

-- The dispatcher's per-target count of attempts in flight, and the cascade when a connection is deleted.
CREATE INDEX deliveries_connection_idx ON deliveries (connection_id, status) WHERE connection_id IS NOT NULL;

-- A connector's status report names a reply by the platform's id (messages.external_id once the connector answered):
-- outbound messages only, which are few beside the inbound ones ingest writes.
CREATE INDEX messages_outbound_external_idx ON messages (tenant_id, external_id) WHERE direction = 'outbound';

-- ---------------------------------------------------------------------------------------------------------------
-- "Not confirmed by Meta" is Meta's: a connector's reply is pending while its delivery is (24 hours of retries), and
-- its delivery's end decides it (delivered: sent; dead: failed). As 0009's, for WhatsApp conversations only.
-- ---------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION fail_unconfirmed_sends(
    p_pending_before timestamptz, p_title text, p_details text, p_limit integer
)
    RETURNS TABLE (tenant_id uuid, message_id bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT m.id
        FROM messages m
        JOIN conversations v ON v.id = m.conversation_id
        WHERE m.status = 'pending' AND m.direction = 'outbound' AND m.created_at < p_pending_before
          AND v.platform = 'whatsapp'
        ORDER BY m.created_at, m.id
        LIMIT p_limit
        FOR UPDATE OF m SKIP LOCKED
    )
    UPDATE messages m
    SET status = 'failed', status_updated_at = now(), error_code = NULL, error_title = p_title,
        error_details = p_details
    FROM due
    WHERE m.id = due.id
    RETURNING m.tenant_id, m.id
$$;

-- ---------------------------------------------------------------------------------------------------------------
-- One message, whichever way it arrived first. A connector may sync the platform's copy of a reply (same platform
-- id) before its answer naming that id has been recorded: the sync then stored a second row. When the answer comes,
-- the reply (the row the agent's client knows) takes the platform id and the sync's copy is folded into it: removed,
-- its status kept if it was further along (0005's delete trigger corrects the conversation's count), and a
-- `message.deleted` event appended so the log's readers drop it too. threadline_app may not delete messages: this function, owned by the schema owner,
-- is that narrow door, limited to the transaction's tenant and to an ingested outbound copy in the reply's own
-- conversation. Returns the copy's status (NULL: there was none).
-- ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION fold_connector_echo(p_message_id bigint, p_external_id text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    tenant CONSTANT uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
    reply_conversation bigint;
    echo_id bigint;
    echo_status text;
BEGIN
    SELECT m.conversation_id INTO reply_conversation
    FROM messages m WHERE m.id = p_message_id AND m.tenant_id = tenant;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    DELETE FROM messages e
    WHERE e.tenant_id = tenant AND e.conversation_id = reply_conversation AND e.external_id = p_external_id
      AND e.id <> p_message_id AND e.direction = 'outbound' AND e.source = 'ingest'
    RETURNING e.id, e.status INTO echo_id, echo_status;
    IF echo_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM append_events(
        ARRAY[tenant], ARRAY['message.deleted'], ARRAY[reply_conversation],
        ARRAY[jsonb_build_object('message_id', echo_id, 'merged_into', p_message_id, 'external_id', p_external_id,
                                 'actor', event_actor())]);
    RETURN echo_status;
END
$$;
REVOKE ALL ON FUNCTION fold_connector_echo(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fold_connector_echo(bigint, text) TO threadline_app;

-- ---------------------------------------------------------------------------------------------------------------
-- The window events follow the window to the conversation. 0015 (the event log) was written while the window was
-- the contact's; 0018 (a reply window per channel) moved it to the conversation and dropped
-- contacts.window_expires_at, which 0015's contact triggers and its window.closed function still read (every
-- contacts write failed on it). window.opened / window.closed now name the conversation (the event's
-- conversation_id) and its contact, and are appended from the conversation's window as 0015 appended the contact's.
-- ---------------------------------------------------------------------------------------------------------------
DROP TRIGGER contacts_append_opened_events ON contacts;
DROP TRIGGER contacts_append_reopened_events ON contacts;
DROP FUNCTION contacts_append_window_events();

CREATE FUNCTION conversations_append_window_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(n.id ORDER BY n.id),
            array_agg(jsonb_build_object('conversation_id', n.id, 'contact_id', n.contact_id,
                                         'window_expires_at', n.window_expires_at) ORDER BY n.id))
        FROM new_conversations n
        WHERE n.window_expires_at > now();
    ELSE
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(n.id ORDER BY n.id),
            array_agg(jsonb_build_object('conversation_id', n.id, 'contact_id', n.contact_id,
                                         'window_expires_at', n.window_expires_at) ORDER BY n.id))
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        WHERE n.window_expires_at > now() AND (o.window_expires_at IS NULL OR o.window_expires_at <= now());
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_append_window_opened_events
    AFTER INSERT ON conversations REFERENCING NEW TABLE AS new_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_append_window_events();
CREATE TRIGGER conversations_append_window_reopened_events
    AFTER UPDATE ON conversations REFERENCING OLD TABLE AS old_conversations NEW TABLE AS new_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_append_window_events();

-- As 0015's, over the conversations' windows (0018's expiry job moves the same progress mark over them).
CREATE OR REPLACE FUNCTION append_window_closed_events() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    from_mark timestamptz;
    to_mark timestamptz;
    appended bigint;
BEGIN
    SELECT closed_through INTO from_mark FROM event_log_window_progress FOR UPDATE;
    SELECT expired_through INTO to_mark FROM window_expiry_progress;
    IF to_mark <= from_mark THEN
        RETURN 0;
    END IF;
    PERFORM append_events(
        array_agg(v.tenant_id ORDER BY v.tenant_id, v.window_expires_at, v.id),
        array_agg('window.closed'::text ORDER BY v.tenant_id, v.window_expires_at, v.id),
        array_agg(v.id ORDER BY v.tenant_id, v.window_expires_at, v.id),
        array_agg(jsonb_build_object('conversation_id', v.id, 'contact_id', v.contact_id,
                                     'window_expires_at', v.window_expires_at)
                  ORDER BY v.tenant_id, v.window_expires_at, v.id))
    FROM conversations v
    WHERE v.window_expires_at > from_mark AND v.window_expires_at <= to_mark;
    UPDATE event_log_window_progress SET closed_through = to_mark;
    SELECT count(*) INTO appended FROM conversations v
    WHERE v.window_expires_at > from_mark AND v.window_expires_at <= to_mark;
    RETURN appended;
END
$$;
