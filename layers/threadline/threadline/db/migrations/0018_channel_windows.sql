-- A reply window per channel. Until now the 24-hour window belonged to the contact (0002), so a Signal or Telegram
-- message opened a WhatsApp window and a tenant's two WhatsApp numbers shared one. A window is a rule of the channel
-- the customer wrote on: it now belongs to the conversation (which names its connection), and its rule to the
-- connection: WhatsApp 24 hours per business number (Meta's customer-service window), WeChat 48 hours and at most 5
-- replies (the Official Account rule), Telegram and Signal none. The channel adapters (threadline/channels) hold
-- those defaults; a new connection is written with its channel's, and each can be changed per connection.

-- ---------------------------------------------------------------------------------------------------------------
-- The rule, per connection: NULL is "none" (no window, no cap).
-- ---------------------------------------------------------------------------------------------------------------
ALTER TABLE connections
    ADD COLUMN reply_window_hours     integer CHECK (reply_window_hours BETWEEN 1 AND 8760),
    ADD COLUMN max_replies_per_window integer CHECK (max_replies_per_window BETWEEN 1 AND 100000);

-- A conversation without a connection (its connection was deleted, or a send from the configured default number
-- opened it) follows its platform's default rule. These are the channel adapters' defaults, written in SQL for the
-- trigger below; tests/integration/test_channel_windows.py holds the two to each other for every platform.
CREATE FUNCTION platform_reply_window_hours(p_platform text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE p_platform WHEN 'whatsapp' THEN 24 WHEN 'wechat' THEN 48 END $$;
CREATE FUNCTION platform_max_replies_per_window(p_platform text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE p_platform WHEN 'wechat' THEN 5 END $$;

UPDATE connections
SET reply_window_hours = platform_reply_window_hours(platform),
    max_replies_per_window = platform_max_replies_per_window(platform);

-- ---------------------------------------------------------------------------------------------------------------
-- The window, per conversation.
-- ---------------------------------------------------------------------------------------------------------------
-- last_inbound_at: the customer's latest message in this conversation (the window opens from it).
-- window_expires_at: last_inbound_at + the rule's hours, or sooner when the channel said it closed (Meta's 131047);
--   NULL when the rule has no window or the customer never wrote. Open exactly while it is in the future.
-- replies_in_window: replies sent through Threadline since the window opened, for a rule with a cap. A new inbound
--   message opens a new window and starts the count again; a reply the channel certainly refused gives its place back.
ALTER TABLE conversations
    ADD COLUMN last_inbound_at   timestamptz,
    ADD COLUMN window_expires_at timestamptz,
    ADD COLUMN replies_in_window integer NOT NULL DEFAULT 0 CHECK (replies_in_window >= 0);

-- A newer inbound message opens a new window, by the rule of the conversation's connection (one primary-key probe,
-- only when last_inbound_at moves forward: the WHEN clause keeps the function out of every other update).
CREATE FUNCTION conversations_open_window() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    hours integer;
BEGIN
    SELECT k.reply_window_hours INTO hours FROM connections k WHERE k.id = NEW.connection_id;
    IF NOT FOUND THEN
        hours := platform_reply_window_hours(NEW.platform);
    END IF;
    NEW.window_expires_at := NEW.last_inbound_at + make_interval(hours => hours);
    NEW.replies_in_window := 0;
    RETURN NEW;
END
$$;
CREATE TRIGGER conversations_open_window_on_insert
    BEFORE INSERT ON conversations
    FOR EACH ROW WHEN (NEW.last_inbound_at IS NOT NULL)
    EXECUTE FUNCTION conversations_open_window();
CREATE TRIGGER conversations_open_window
    BEFORE UPDATE OF last_inbound_at ON conversations
    FOR EACH ROW WHEN (NEW.last_inbound_at > OLD.last_inbound_at
                       OR (OLD.last_inbound_at IS NULL AND NEW.last_inbound_at IS NOT NULL))
    EXECUTE FUNCTION conversations_open_window();

-- Every writer of inbound messages (ingest, Meta's webhook, whatever comes next) moves last_inbound_at through the
-- counters' statement trigger, which already updates each conversation a statement touched once (0005, 0011): the
-- window costs ingest no extra statement and no extra row version. As 0011's, plus last_inbound_at.
CREATE OR REPLACE FUNCTION messages_count_into_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations c
    SET message_count = c.message_count + added.messages,
        agent_last_read_at = GREATEST(c.agent_last_read_at, added.replied_at),
        last_inbound_at = GREATEST(c.last_inbound_at, added.last_inbound_at),
        unread_count = CASE
            WHEN added.replied_at > COALESCE(c.agent_last_read_at, '-infinity') THEN (
                SELECT count(*) FROM messages m
                WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.sent_at > added.replied_at
                  AND m.direction = 'inbound' AND NOT m.is_system)
            ELSE c.unread_count + (
                SELECT count(*) FROM inserted_messages n
                WHERE n.conversation_id = c.id AND n.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
                  AND n.direction = 'inbound' AND NOT n.is_system)
        END,
        waiting_since = CASE
            WHEN added.replied_at > COALESCE(c.agent_last_read_at, '-infinity') THEN (
                SELECT min(m.sent_at) FROM messages m
                WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id AND m.sent_at > added.replied_at
                  AND m.direction = 'inbound' AND NOT m.is_system)
            ELSE LEAST(c.waiting_since, (
                SELECT min(n.sent_at) FROM inserted_messages n
                WHERE n.conversation_id = c.id AND n.sent_at > COALESCE(c.agent_last_read_at, '-infinity')
                  AND n.direction = 'inbound' AND NOT n.is_system))
        END
    FROM (
        SELECT conversation_id, count(*) AS messages,
               max(sent_at) FILTER (WHERE direction = 'outbound' AND NOT is_system AND NOT is_private) AS replied_at,
               max(sent_at) FILTER (WHERE direction = 'inbound' AND NOT is_system) AS last_inbound_at
        FROM inserted_messages
        GROUP BY conversation_id
    ) added
    WHERE c.id = added.conversation_id;
    RETURN NULL;
END
$$;

-- The windows of the conversations that already exist (the trigger above computes each from its connection).
UPDATE conversations c
SET last_inbound_at = seen.last_inbound_at
FROM (
    SELECT conversation_id, max(sent_at) AS last_inbound_at FROM messages
    WHERE direction = 'inbound' AND NOT is_system
    GROUP BY conversation_id
) seen
WHERE c.id = seen.conversation_id;

-- The contact's window is gone: its trigger, its index, its column. contacts.last_interaction_at stays (the
-- contact's latest message on any channel, which orders recipient matches).
DROP TRIGGER contacts_open_window ON contacts;
DROP FUNCTION contacts_open_window();
DROP INDEX contacts_window_expires_idx;
ALTER TABLE contacts DROP COLUMN window_expires_at;

-- ---------------------------------------------------------------------------------------------------------------
-- The expiry job, per conversation window (its progress mark is 0003's, unchanged: windows that closed before the
-- mark were noticed on their contact).
-- ---------------------------------------------------------------------------------------------------------------
CREATE INDEX conversations_window_expires_idx ON conversations (window_expires_at)
    WHERE window_expires_at IS NOT NULL;

DROP FUNCTION expire_closed_windows(integer, boolean);

-- As 0008's, over conversations: one batch notices the windows that closed after the mark (at most p_batch_size,
-- ties included), moves the mark past them, and with p_list_windows names, per tenant, those of them someone is
-- subscribed to (the only ones the real-time feed can tell).
CREATE FUNCTION expire_closed_windows(p_batch_size integer, p_list_windows boolean DEFAULT false)
    RETURNS TABLE (
        windows_expired   bigint,
        caught_up         boolean,
        expired_through   timestamptz,
        tenant_ids        uuid[],
        conversation_ids  bigint[],
        contact_ids       uuid[],
        window_expires_at timestamptz[]
    )
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    horizon CONSTANT timestamptz := now() - interval '1 minute';
    mark_before timestamptz;
    batch_end timestamptz;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'p_batch_size must be a positive integer' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- A run overlapping this one waits here until our batch commits, then continues from where we stopped.
    SELECT p.expired_through INTO mark_before FROM window_expiry_progress p FOR UPDATE;

    SELECT v.window_expires_at INTO batch_end
    FROM conversations v
    WHERE v.window_expires_at > mark_before AND v.window_expires_at <= horizon
    ORDER BY v.window_expires_at
    OFFSET p_batch_size - 1 LIMIT 1;
    caught_up := batch_end IS NULL;
    batch_end := GREATEST(mark_before, COALESCE(batch_end, horizon));

    SELECT count(*) INTO windows_expired
    FROM conversations v
    WHERE v.window_expires_at > mark_before AND v.window_expires_at <= batch_end;

    IF p_list_windows THEN
        SELECT array_agg(v.tenant_id ORDER BY v.tenant_id, v.id), array_agg(v.id ORDER BY v.tenant_id, v.id),
               array_agg(v.contact_id ORDER BY v.tenant_id, v.id),
               array_agg(v.window_expires_at ORDER BY v.tenant_id, v.id)
        INTO tenant_ids, conversation_ids, contact_ids, window_expires_at
        FROM conversations v
        WHERE v.window_expires_at > mark_before AND v.window_expires_at <= batch_end
          AND EXISTS (
              SELECT 1 FROM websocket_subscriptions s
              WHERE s.tenant_id = v.tenant_id AND s.topic = 'conversation' AND s.topic_id = v.id::text);
    END IF;

    UPDATE window_expiry_progress p
    SET expired_through = GREATEST(p.expired_through, batch_end), updated_at = clock_timestamp()
    RETURNING p.expired_through INTO expired_through;
    caught_up := caught_up OR expired_through >= horizon;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION expire_closed_windows(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_closed_windows(integer, boolean) TO threadline_app;
