-- Sends whose outcome nobody confirms. A send is written `pending` before Meta is called; when Meta's answer is lost
-- (a read timeout, 5xx on every attempt, a garbled 200) the row stays pending, because Meta may still deliver it and
-- its status webhook will say so. Without a bound it stayed pending forever. The scheduled job (ExpireWindowsFunction)
-- ends, after the bound it passes in, every send still pending as `failed` with the title it passes in; a status
-- webhook arriving later still moves such a message to what Meta says (threadline.db.repositories.webhooks).

-- Pending rows are few (a send is pending for the length of one Meta call), so this index stays tiny on any table.
CREATE INDEX messages_pending_idx ON messages (created_at, id) WHERE status = 'pending';

-- Across every tenant (threadline_app sees no message without a tenant: this function, owned by the schema owner,
-- is the job's narrow door through RLS). At most `p_limit` messages a call, oldest first; rows another transaction
-- holds (a status webhook completing them right now) are left for the next run.
CREATE FUNCTION fail_unconfirmed_sends(p_pending_before timestamptz, p_title text, p_details text, p_limit integer)
    RETURNS TABLE (tenant_id uuid, message_id bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
AS $$
    WITH due AS (
        SELECT m.id
        FROM messages m
        WHERE m.status = 'pending' AND m.direction = 'outbound' AND m.created_at < p_pending_before
        ORDER BY m.created_at, m.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE messages m
    SET status = 'failed', status_updated_at = now(), error_code = NULL, error_title = p_title,
        error_details = p_details
    FROM due
    WHERE m.id = due.id
    RETURNING m.tenant_id, m.id
$$;

REVOKE ALL ON FUNCTION fail_unconfirmed_sends(timestamptz, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fail_unconfirmed_sends(timestamptz, text, text, integer) TO threadline_app;
