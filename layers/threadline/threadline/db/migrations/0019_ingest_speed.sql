-- Ingest speed: one UPDATE of the conversations an insert statement touched, not two.
--
-- messages_count_into_conversations (the shared counters: 0011, with 0018's last_inbound_at) and 0013's
-- messages_track_read_state (per-agent unread) each updated the same conversation rows once per statement. Every UPDATE writes a new version of the
-- row, an entry in every conversation index when it cannot be HOT (waiting_since is indexed), and, when the row
-- was already changed by the same transaction (as the ingest's own upsert just did), re-checks its three foreign
-- keys. One trigger now does both in one UPDATE, in the same order as before: the counters first, then the
-- authors' read horizons, which read the countable_count just moved. Behaviour is unchanged; the deletion
-- triggers (an erasure request, rare) stay as they are.
CREATE OR REPLACE FUNCTION messages_count_into_conversations() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations c
    SET message_count = c.message_count + added.messages,
        countable_count = c.countable_count + added.countable,
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
               max(sent_at) FILTER (WHERE direction = 'inbound' AND NOT is_system) AS last_inbound_at,
               -- Countable: what an agent has to read (0013).
               count(*) FILTER (WHERE (direction = 'inbound' AND NOT is_system) OR is_private) AS countable
        FROM inserted_messages
        GROUP BY conversation_id
    ) added
    WHERE c.id = added.conversation_id;

    -- Writing means having read: each author's horizon moves to their newest message of the statement. The
    -- join to users (under RLS) skips an author who is not a user of the message's tenant.
    INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, last_read_message_id, countable_seen)
    SELECT written.tenant_id, written.conversation_id, written.author_user_id, written.message_id,
           c.countable_count - (
               SELECT count(*) FROM messages m
               WHERE m.tenant_id = written.tenant_id AND m.conversation_id = written.conversation_id
                 AND m.id > written.message_id
                 AND ((m.direction = 'inbound' AND NOT m.is_system) OR m.is_private))
    FROM (
        SELECT tenant_id, conversation_id, author_user_id, max(id) AS message_id FROM inserted_messages
        WHERE author_user_id IS NOT NULL AND NOT is_system
        GROUP BY tenant_id, conversation_id, author_user_id
    ) written
    JOIN conversations c ON c.id = written.conversation_id
    JOIN users u ON u.id = written.author_user_id AND u.tenant_id = written.tenant_id
    ON CONFLICT (conversation_id, user_id) DO UPDATE
    SET last_read_message_id = EXCLUDED.last_read_message_id,
        countable_seen = EXCLUDED.countable_seen,
        updated_at = now()
    WHERE EXCLUDED.last_read_message_id > r.last_read_message_id;
    RETURN NULL;
END
$$;

DROP TRIGGER messages_track_read_state ON messages;
DROP FUNCTION messages_track_read_state();
