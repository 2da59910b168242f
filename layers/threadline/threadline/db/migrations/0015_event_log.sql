-- The event log: every change a tenant's data goes through, appended in the transaction that makes it, numbered by a
-- per-tenant `seq` that is monotonic and gap-free. Three consumers read it: the catch-up API (GET /v1/events), the
-- WebSocket frames (each carries its event's seq) and the webhook deliveries (0016).
--
-- Gap-free by construction: a seq is taken from the tenant's counter row (`event_log_heads.last_seq`), which the
-- appending statement updates and keeps locked until its transaction ends. A rollback undoes the increment, so no
-- seq is ever skipped; a concurrent writer of the same tenant waits for the lock, so seqs become visible in the order
-- they were handed out: a reader that has seen seq N has seen everything up to N.
--
-- Covered by construction: statement-level AFTER triggers (transition tables) on messages, conversations,
-- conversation_labels and contacts append the table-shaped changes of every writer (ingest, Meta's webhook, sends,
-- the inbox lifecycle, annotations, the scheduled jobs), one INSERT per statement whatever the number of rows. Who
-- made a change comes from the transaction-local setting `app.actor` (JSON, set by threadline.db.tenancy), else
-- null (a connector, Meta, the system). Events that are not a row change (a window noticed closed by the expiry
-- job's progress mark) are appended by their job through append_window_closed_events().

CREATE TABLE event_log_heads (
    tenant_id      uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    -- The last seq handed out.
    last_seq       bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    -- The highest seq the purge removed: an `after` below it asks for events that are gone (410, reload).
    purged_through bigint NOT NULL DEFAULT 0 CHECK (purged_through >= 0)
);
SELECT threadline_enable_tenant_isolation('event_log_heads');

-- No foreign key to tenants on purpose: it would cost a lookup per event on the ingest path, and the tenant's head row
-- (which has one) already ties the log to its tenant. purge_events() removes a deleted tenant's events with its age.
CREATE TABLE events (
    tenant_id       uuid NOT NULL,
    seq             bigint NOT NULL,
    type            text NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    conversation_id bigint,
    data            jsonb NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
-- The catch-up filter by conversation, and the publisher's lookup of a frame's seq (the newest matching event of a
-- conversation, read backwards).
CREATE INDEX events_conversation_idx ON events (tenant_id, conversation_id, seq) WHERE conversation_id IS NOT NULL;
-- The purge's range (oldest first). BRIN: the log is appended in time order, so a block range summary finds old
-- events, at a fraction of a B-tree's cost per appended row (the ingest path appends one per message).
CREATE INDEX events_occurred_idx ON events USING brin (occurred_at);
SELECT threadline_enable_tenant_isolation('events');

GRANT SELECT, INSERT, UPDATE ON event_log_heads TO threadline_app;
GRANT SELECT, INSERT ON events TO threadline_app;

-- The one place seqs are handed out. The arrays are the events in order (one entry each); tenants are locked in
-- tenant order, so two cross-tenant writers (the scheduled jobs) never deadlock on each other's heads.
CREATE FUNCTION append_events(
    p_tenant_ids uuid[], p_types text[], p_conversation_ids bigint[], p_data jsonb[]
) RETURNS void
    LANGUAGE sql VOLATILE
AS $$
    WITH wanted AS MATERIALIZED (
        SELECT e.tenant_id, e.type, e.conversation_id, e.data,
               row_number() OVER (PARTITION BY e.tenant_id ORDER BY e.position) AS position,
               count(*) OVER (PARTITION BY e.tenant_id) AS total
        FROM unnest(p_tenant_ids, p_types, p_conversation_ids, p_data)
             WITH ORDINALITY AS e (tenant_id, type, conversation_id, data, position)
    ),
    heads AS (
        INSERT INTO event_log_heads AS h (tenant_id, last_seq)
        SELECT tenant_id, count(*) FROM wanted GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
        RETURNING h.tenant_id, h.last_seq
    )
    INSERT INTO events (tenant_id, seq, type, conversation_id, data)
    SELECT w.tenant_id, h.last_seq - w.total + w.position, w.type, w.conversation_id, w.data
    FROM wanted w JOIN heads h ON h.tenant_id = w.tenant_id
    ORDER BY w.tenant_id, w.position
$$;
REVOKE ALL ON FUNCTION append_events(uuid[], text[], bigint[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION append_events(uuid[], text[], bigint[], jsonb[]) TO threadline_app;

-- Who made the change: {"type": "agent", "id": ..., "name": ...} set by the application for the transaction, or null.
CREATE FUNCTION event_actor() RETURNS jsonb
    LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('app.actor', true), '')::jsonb $$;

-- ---------------------------------------------------------------------------------------------------------------
-- Messages: message.created / note.created, message.status_changed, message.updated
-- ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION message_event_data(m messages) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'message_id', m.id, 'external_id', m.external_id, 'direction', m.direction, 'type', m.type,
        'content', m.content, 'media_url', m.media_url, 'status', m.status, 'source', m.source,
        'sent_at', m.sent_at, 'is_system', m.is_system, 'private', m.is_private,
        'author_user_id', m.author_user_id,
        'error', CASE WHEN m.status = 'failed' OR m.error_title IS NOT NULL
                      THEN jsonb_build_object('code', m.error_code, 'title', m.error_title) END)
$$;

-- The ingest path's hot trigger (one event per stored message): written out rather than through append_events, which
-- would build and unnest arrays of every row's event first.
CREATE FUNCTION messages_append_created_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := jsonb_build_object('actor', event_actor());
BEGIN
    WITH wanted AS MATERIALIZED (
        SELECT m.tenant_id, m.conversation_id,
               CASE WHEN m.is_private THEN 'note.created' ELSE 'message.created' END AS type,
               message_event_data(m) || actor AS data,
               row_number() OVER (PARTITION BY m.tenant_id ORDER BY m.id) AS position,
               count(*) OVER (PARTITION BY m.tenant_id) AS total
        FROM added_messages m
    ),
    heads AS (
        INSERT INTO event_log_heads AS h (tenant_id, last_seq)
        SELECT tenant_id, count(*) FROM wanted GROUP BY tenant_id ORDER BY tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
        RETURNING h.tenant_id, h.last_seq
    )
    INSERT INTO events (tenant_id, seq, type, conversation_id, data)
    SELECT w.tenant_id, h.last_seq - w.total + w.position, w.type, w.conversation_id, w.data
    FROM wanted w JOIN heads h ON h.tenant_id = w.tenant_id
    ORDER BY w.tenant_id, w.position;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_append_created_events
    AFTER INSERT ON messages REFERENCING NEW TABLE AS added_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_append_created_events();

CREATE FUNCTION messages_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.id),
        array_agg(changed.type ORDER BY changed.id),
        array_agg(changed.conversation_id ORDER BY changed.id),
        array_agg(changed.data ORDER BY changed.id))
    FROM (
        SELECT n.id, n.tenant_id, n.conversation_id,
               CASE WHEN n.status IS DISTINCT FROM o.status THEN 'message.status_changed' ELSE 'message.updated' END
                   AS type,
               message_event_data(n)
                   || jsonb_build_object('previous_status', o.status, 'actor', actor) AS data
        FROM new_messages n JOIN old_messages o ON o.id = n.id
        -- What a reader can see; bookkeeping columns (status_updated_at, updated_at) alone are no change.
        WHERE (n.status, n.content, n.media_url, n.external_id, n.meta_id, n.error_code, n.error_title,
               n.error_details, n.metadata)
              IS DISTINCT FROM
              (o.status, o.content, o.media_url, o.external_id, o.meta_id, o.error_code, o.error_title,
               o.error_details, o.metadata)
    ) changed;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_append_changed_events
    AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_append_changed_events();

-- ---------------------------------------------------------------------------------------------------------------
-- Conversations: conversation.created, conversation.assigned, conversation.updated
-- ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION conversations_append_created_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(c.tenant_id ORDER BY c.id),
        array_agg('conversation.created'::text ORDER BY c.id),
        array_agg(c.id ORDER BY c.id),
        array_agg(jsonb_build_object(
            'conversation_id', c.id, 'platform', c.platform, 'external_conversation_id', c.external_conversation_id,
            'contact_id', c.contact_id, 'connection_id', c.connection_id, 'status', c.status,
            'assignee_id', c.assignee_id, 'team_id', c.team_id, 'priority', c.priority, 'version', c.version,
            'actor', actor) ORDER BY c.id))
    FROM added_conversations c;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_append_created_events
    AFTER INSERT ON conversations REFERENCING NEW TABLE AS added_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_append_created_events();

-- Only what an agent can change (the columns 0011's version follows): a new message moving last_message_at or the
-- counters is the message's own event, not a conversation change. A change of assignee is conversation.assigned;
-- the other fields in the same UPDATE are one conversation.updated beside it.
CREATE FUNCTION conversations_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.id, changed.kind),
        array_agg(changed.type ORDER BY changed.id, changed.kind),
        array_agg(changed.id ORDER BY changed.id, changed.kind),
        array_agg(changed.data ORDER BY changed.id, changed.kind))
    FROM (
        SELECT n.id, n.tenant_id, 1 AS kind, 'conversation.assigned' AS type,
               jsonb_build_object('conversation_id', n.id, 'assignee_id', n.assignee_id,
                                  'previous_assignee_id', o.assignee_id, 'version', n.version, 'actor', actor) AS data
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        WHERE n.assignee_id IS DISTINCT FROM o.assignee_id
        UNION ALL
        SELECT n.id, n.tenant_id, 2, 'conversation.updated',
               jsonb_build_object('conversation_id', n.id, 'changes', changes.fields, 'version', n.version,
                                  'actor', actor)
        FROM new_conversations n JOIN old_conversations o ON o.id = n.id
        CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(f.key, f.value) AS fields
            FROM jsonb_each(jsonb_build_object('status', n.status, 'snoozed_until', n.snoozed_until,
                                               'team_id', n.team_id, 'priority', n.priority)) f
            WHERE f.value IS DISTINCT FROM jsonb_build_object(
                'status', o.status, 'snoozed_until', o.snoozed_until, 'team_id', o.team_id,
                'priority', o.priority) -> f.key
        ) changes
        WHERE (n.status, n.snoozed_until, n.team_id, n.priority)
              IS DISTINCT FROM (o.status, o.snoozed_until, o.team_id, o.priority)
    ) changed;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversations_append_changed_events
    AFTER UPDATE ON conversations REFERENCING OLD TABLE AS old_conversations NEW TABLE AS new_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_append_changed_events();

-- ---------------------------------------------------------------------------------------------------------------
-- Labels: conversation.labels_changed, one per conversation and statement (a PUT's delete and insert are two)
-- ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION conversation_labels_append_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(per.tenant_id ORDER BY per.conversation_id),
        array_agg('conversation.labels_changed'::text ORDER BY per.conversation_id),
        array_agg(per.conversation_id ORDER BY per.conversation_id),
        array_agg(jsonb_build_object(
            'conversation_id', per.conversation_id,
            'added', CASE WHEN TG_OP = 'INSERT' THEN per.names ELSE '[]'::jsonb END,
            'removed', CASE WHEN TG_OP = 'DELETE' THEN per.names ELSE '[]'::jsonb END,
            'labels', (SELECT coalesce(jsonb_agg(l.name ORDER BY cl.created_at, lower(l.name)), '[]'::jsonb)
                       FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
                       WHERE cl.tenant_id = per.tenant_id AND cl.conversation_id = per.conversation_id),
            'actor', actor) ORDER BY per.conversation_id))
    FROM (
        SELECT x.tenant_id, x.conversation_id, jsonb_agg(l.name ORDER BY lower(l.name)) AS names
        FROM changed_labels x LEFT JOIN labels l ON l.id = x.label_id
        GROUP BY x.tenant_id, x.conversation_id
    ) per;
    RETURN NULL;
END
$$;
CREATE TRIGGER conversation_labels_append_added_events
    AFTER INSERT ON conversation_labels REFERENCING NEW TABLE AS changed_labels
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_labels_append_events();
CREATE TRIGGER conversation_labels_append_removed_events
    AFTER DELETE ON conversation_labels REFERENCING OLD TABLE AS changed_labels
    FOR EACH STATEMENT EXECUTE FUNCTION conversation_labels_append_events();

-- ---------------------------------------------------------------------------------------------------------------
-- Windows: window.opened (a contact's window went from closed to open), window.closed (noticed by the expiry job)
-- ---------------------------------------------------------------------------------------------------------------
-- The window belongs to the contact (0002), so these events name the contact and no conversation.
CREATE FUNCTION contacts_append_window_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(NULL::bigint ORDER BY n.id),
            array_agg(jsonb_build_object('contact_id', n.id, 'window_expires_at', n.window_expires_at)
                      ORDER BY n.id))
        FROM new_contacts n
        WHERE n.window_expires_at > now();
    ELSE
        PERFORM append_events(
            array_agg(n.tenant_id ORDER BY n.id), array_agg('window.opened'::text ORDER BY n.id),
            array_agg(NULL::bigint ORDER BY n.id),
            array_agg(jsonb_build_object('contact_id', n.id, 'window_expires_at', n.window_expires_at)
                      ORDER BY n.id))
        FROM new_contacts n JOIN old_contacts o ON o.id = n.id
        WHERE n.window_expires_at > now() AND (o.window_expires_at IS NULL OR o.window_expires_at <= now());
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_append_opened_events
    AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_append_window_events();
CREATE TRIGGER contacts_append_reopened_events
    AFTER UPDATE ON contacts REFERENCING OLD TABLE AS old_contacts NEW TABLE AS new_contacts
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_append_window_events();

-- How far the window.closed events have followed the expiry job's progress mark (0003). One row.
CREATE TABLE event_log_window_progress (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    closed_through timestamptz NOT NULL
);
INSERT INTO event_log_window_progress (closed_through) SELECT expired_through FROM window_expiry_progress;

-- Called by the expiry job in the transaction of each batch, after the batch moved the mark: a window.closed event
-- for every window between where the events stopped and the mark, across tenants (the job's narrow door through
-- RLS, like expire_closed_windows). Overlapping runs take turns on the row. Returns how many were appended.
CREATE FUNCTION append_window_closed_events() RETURNS bigint
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
        array_agg(c.tenant_id ORDER BY c.tenant_id, c.window_expires_at, c.id),
        array_agg('window.closed'::text ORDER BY c.tenant_id, c.window_expires_at, c.id),
        array_agg(NULL::bigint ORDER BY c.tenant_id, c.window_expires_at, c.id),
        array_agg(jsonb_build_object('contact_id', c.id, 'window_expires_at', c.window_expires_at)
                  ORDER BY c.tenant_id, c.window_expires_at, c.id))
    FROM contacts c
    WHERE c.window_expires_at > from_mark AND c.window_expires_at <= to_mark;
    UPDATE event_log_window_progress SET closed_through = to_mark;
    SELECT count(*) INTO appended FROM contacts c
    WHERE c.window_expires_at > from_mark AND c.window_expires_at <= to_mark;
    RETURN appended;
END
$$;
REVOKE ALL ON FUNCTION append_window_closed_events() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION append_window_closed_events() TO threadline_app;

-- ---------------------------------------------------------------------------------------------------------------
-- Retention: events older than the cutoff go, in batches, across tenants; each tenant's head remembers the highest
-- seq removed, so a reader asking for what is gone is told to reload instead of silently missing it.
-- ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION purge_events(p_older_than timestamptz, p_limit integer) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
DECLARE
    purged bigint;
BEGIN
    WITH doomed AS (
        SELECT e.tenant_id, e.seq FROM events e
        WHERE e.occurred_at < p_older_than
        ORDER BY e.occurred_at
        LIMIT p_limit
    ),
    removed AS (
        DELETE FROM events e USING doomed d
        WHERE e.tenant_id = d.tenant_id AND e.seq = d.seq
        RETURNING e.tenant_id, e.seq
    ),
    per_tenant AS (
        SELECT tenant_id, max(seq) AS through, count(*) AS removed FROM removed GROUP BY tenant_id
    ),
    moved AS (
        UPDATE event_log_heads h SET purged_through = GREATEST(h.purged_through, p.through)
        FROM per_tenant p WHERE h.tenant_id = p.tenant_id
        RETURNING p.removed
    )
    SELECT coalesce(sum(removed), 0) INTO purged FROM moved;
    RETURN purged;
END
$$;
REVOKE ALL ON FUNCTION purge_events(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_events(timestamptz, integer) TO threadline_app;
