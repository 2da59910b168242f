-- Labels with their counts, and per-agent unread counts that cost O(1) to show.
--
-- Unread, per agent. A message is *countable* when it is something an agent has to read: an inbound customer
-- message (not a system message) or a private note. conversations.countable_count is the running number of
-- countable messages; conversation_reads.countable_seen is how many of them the agent had seen when their horizon
-- last moved. An agent's unread count is the difference: no count per list row, whatever the conversation's size.
-- The horizon is a message id (arrival order): what arrived after the agent looked is unread, even a backfilled
-- message with an older sent_at. Writing a message (a reply, a note) moves its author's horizon to it, so an
-- agent's own notes are never unread for them: they always lie at or behind the author's horizon.
-- 0011's shared counters (unread_count since the last reply, waiting_since) are untouched: they stay the default
-- for an agent who has never read or written in a conversation.

-- ---------------------------------------------------------------------------------------------------------------
-- Labels: how many conversations carry each, kept by the writes
-- ---------------------------------------------------------------------------------------------------------------
ALTER TABLE labels
    ADD COLUMN conversation_count integer NOT NULL DEFAULT 0 CHECK (conversation_count >= 0);

-- Once per statement: a PUT that adds five labels updates five label rows once each.
CREATE FUNCTION conversation_labels_count_into_labels() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE labels l
    SET conversation_count = l.conversation_count + added.conversations
    FROM (SELECT label_id, count(*) AS conversations FROM added_labels GROUP BY label_id) added
    WHERE l.id = added.label_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_labels_count_into_labels
    AFTER INSERT ON conversation_labels REFERENCING NEW TABLE AS added_labels
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_labels_count_into_labels();

-- Also fires for the rows a deleted conversation (or label) takes with it by cascade.
CREATE FUNCTION conversation_labels_uncount_from_labels() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE labels l
    SET conversation_count = GREATEST(l.conversation_count - removed.conversations, 0)
    FROM (SELECT label_id, count(*) AS conversations FROM removed_labels GROUP BY label_id) removed
    WHERE l.id = removed.label_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_labels_uncount_from_labels
    AFTER DELETE ON conversation_labels REFERENCING OLD TABLE AS removed_labels
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_labels_uncount_from_labels();

-- A conversation's labels in the order they were given (the PUT answers them so).
CREATE INDEX conversation_labels_conversation_idx ON conversation_labels (tenant_id, conversation_id, created_at);

-- ---------------------------------------------------------------------------------------------------------------
-- Per-agent unread
-- ---------------------------------------------------------------------------------------------------------------
ALTER TABLE conversations ADD COLUMN countable_count bigint NOT NULL DEFAULT 0;
ALTER TABLE conversation_reads ADD COLUMN countable_seen bigint NOT NULL DEFAULT 0;

-- The countable messages after a horizon, by id: what moving a horizon counts. Partial (inbound and notes only)
-- and tenant-leading, so the count is an index-only range of exactly the messages still unread.
CREATE INDEX messages_countable_idx ON messages (tenant_id, conversation_id, id)
    WHERE (direction = 'inbound' AND NOT is_system) OR is_private;

-- A separate trigger from 0011's messages_count_into_conversations (which keeps the shared counters): the two
-- concerns change independently. Once per statement, like 0005's.
CREATE FUNCTION messages_track_read_state() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations c
    SET countable_count = c.countable_count + added.countable
    FROM (
        SELECT conversation_id, count(*) AS countable FROM inserted_messages
        WHERE (direction = 'inbound' AND NOT is_system) OR is_private
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
CREATE TRIGGER messages_track_read_state
    AFTER INSERT ON messages REFERENCING NEW TABLE AS inserted_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_track_read_state();

-- A deleted message (an erasure request) leaves the counters exact: it is no longer countable, and no longer
-- among what each agent had seen when it lay at or behind their horizon.
CREATE FUNCTION messages_untrack_read_state() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE conversations c
    SET countable_count = GREATEST(c.countable_count - removed.countable, 0)
    FROM (
        SELECT conversation_id, count(*) AS countable FROM deleted_messages
        WHERE (direction = 'inbound' AND NOT is_system) OR is_private
        GROUP BY conversation_id
    ) removed
    WHERE c.id = removed.conversation_id;

    UPDATE conversation_reads r
    SET countable_seen = GREATEST(r.countable_seen - (
        SELECT count(*) FROM deleted_messages d
        WHERE d.conversation_id = r.conversation_id AND d.id <= r.last_read_message_id
          AND ((d.direction = 'inbound' AND NOT d.is_system) OR d.is_private)), 0)
    WHERE r.conversation_id IN (SELECT conversation_id FROM deleted_messages);
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_untrack_read_state
    AFTER DELETE ON messages REFERENCING OLD TABLE AS deleted_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_untrack_read_state();

-- The counters of the conversations that already exist.
UPDATE conversations c
SET countable_count = counted.countable
FROM (
    SELECT conversation_id, count(*) AS countable FROM messages
    WHERE (direction = 'inbound' AND NOT is_system) OR is_private
    GROUP BY conversation_id
) counted
WHERE c.id = counted.conversation_id;
