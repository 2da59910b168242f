-- ---------------------------------------------------------------------------------------------------------------
-- Media kept: one row per message that carries a medium Threadline copies into its own private bucket.
--
-- Written in the transaction that stores the message (the WhatsApp notification's), so a committed media message
-- always has its row: `pending` until the copy step (threadline.domain.media.copy, after the commit) stores the file
-- or gives up. `source_kind` says where the file is fetched from: `channel` (the conversation's channel hands out a
-- media id, `source_ref`, fetched with the channel's credentials) or `url` (a connector's media_url, fetched under
-- the outbound address rules). SQL names no provider.
--
-- `attempts`, `next_attempt_at` and `enqueued_at` drive the retries (24 hours, backoff): the scheduled sweep hands
-- over pending rows whose hand-over was lost (claim_pending_media, the one cross-tenant door).
-- ---------------------------------------------------------------------------------------------------------------
CREATE TABLE message_media (
    message_id bigint PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    source_kind text NOT NULL CHECK (source_kind IN ('channel', 'url')),
    source_ref text NOT NULL CHECK (length(source_ref) > 0),
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'failed')),
    failure_reason text,
    mime_type text,
    file_name text,
    size_bytes bigint CHECK (size_bytes >= 0),
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    s3_key text,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    stored_at timestamptz,
    CONSTRAINT message_media_stored_has_object CHECK (state <> 'stored' OR (s3_key IS NOT NULL AND sha256 IS NOT NULL
                                                                            AND size_bytes IS NOT NULL)),
    CONSTRAINT message_media_failed_has_reason CHECK (state <> 'failed' OR failure_reason IS NOT NULL)
);

-- The sweep's walk: only pending rows, oldest due first.
CREATE INDEX message_media_pending ON message_media (next_attempt_at) WHERE state = 'pending';

SELECT threadline_enable_tenant_isolation('message_media');
GRANT SELECT, INSERT, UPDATE ON message_media TO threadline_app;

-- What an event says about a medium (the message views' `attachments` entry without its URL, which expires).
CREATE FUNCTION message_media_event_data(x message_media) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'state', x.state, 'mime_type', x.mime_type, 'file_name', x.file_name, 'size', x.size_bytes,
        'sha256', x.sha256, 'failure_reason', x.failure_reason)
$$;

-- A medium that is stored (or given up) changes what a reader of its message sees: `message.updated`, with the
-- message as every message event shows it plus its `media`. Bookkeeping (attempts, next_attempt_at) is no change.
CREATE FUNCTION message_media_append_changed_events() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    actor CONSTANT jsonb := event_actor();
BEGIN
    PERFORM append_events(
        array_agg(changed.tenant_id ORDER BY changed.message_id),
        array_agg('message.updated'::text ORDER BY changed.message_id),
        array_agg(changed.conversation_id ORDER BY changed.message_id),
        array_agg(changed.data ORDER BY changed.message_id))
    FROM (
        SELECT n.message_id, n.tenant_id, n.conversation_id,
               message_event_data(m)
                   || jsonb_build_object('media', message_media_event_data(n), 'actor', actor) AS data
        FROM new_media n
        JOIN old_media o ON o.message_id = n.message_id
        JOIN messages m ON m.id = n.message_id
        WHERE n.state IS DISTINCT FROM o.state
    ) changed
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_media_append_changed_events
    AFTER UPDATE ON message_media REFERENCING OLD TABLE AS old_media NEW TABLE AS new_media
    FOR EACH STATEMENT EXECUTE FUNCTION message_media_append_changed_events();

-- The scheduled sweep (all tenants): pending media that are due and whose hand-over to the copy queue is unknown or
-- old enough to have been lost, marked as handed over now. Oldest first, at most p_limit.
CREATE FUNCTION claim_pending_media(p_now timestamptz, p_stale_before timestamptz, p_limit integer)
    RETURNS TABLE (tenant_id uuid, message_id bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT x.message_id FROM message_media x
        WHERE x.state = 'pending' AND x.next_attempt_at <= p_now
          AND (x.enqueued_at IS NULL OR x.enqueued_at < p_stale_before)
        ORDER BY x.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE message_media x SET enqueued_at = p_now
    FROM due WHERE x.message_id = due.message_id
    RETURNING x.tenant_id, x.message_id
$$;
REVOKE ALL ON FUNCTION claim_pending_media(timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_pending_media(timestamptz, timestamptz, integer) TO threadline_app;
