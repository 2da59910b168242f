-- ---------------------------------------------------------------------------------------------------------------
-- SQL names no channel: which platforms' sends are confirmed by a status the provider pushes (so a send left
-- pending is failed after a while) is the channel adapters' knowledge (threadline.channels: `confirms_sends`),
-- passed in as p_platforms. Before this, 0020's version kept v.platform = 'whatsapp' as a literal.
-- ---------------------------------------------------------------------------------------------------------------
DROP FUNCTION fail_unconfirmed_sends(timestamptz, text, text, integer);

CREATE FUNCTION fail_unconfirmed_sends(
    p_pending_before timestamptz, p_title text, p_details text, p_limit integer, p_platforms text[]
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
          AND v.platform = ANY (p_platforms)
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

REVOKE ALL ON FUNCTION fail_unconfirmed_sends(timestamptz, text, text, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fail_unconfirmed_sends(timestamptz, text, text, integer, text[]) TO threadline_app;
